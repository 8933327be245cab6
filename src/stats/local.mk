# src/stats/ fragment: the metrics table and per-worker storage, summing over
# workers, rendering (stats proxy, Prometheus, JSON) and the admin HTTP
# listener, added to src/libmoxi.a.
src_libmoxi_a_SOURCES += \
	src/stats/metrics.cc src/stats/metrics.h \
	src/stats/render.cc src/stats/render.h \
	src/stats/gather.cc src/stats/gather.h \
	src/stats/admin_http.cc src/stats/admin_http.h
