# src/core/ fragment: the app (main thread), the workers with their client
# connections and request routers, and applying configs (static config,
# follower, reload, --check-config), added to src/libmoxi.a.
src_libmoxi_a_SOURCES += \
	src/core/app.cc src/core/app.h \
	src/core/check_config.cc src/core/check_config.h \
	src/core/client_connection.cc src/core/client_connection.h \
	src/core/config_follower.cc src/core/config_follower.h \
	src/core/request_router.cc src/core/request_router.h \
	src/core/event_log.cc src/core/event_log.h \
	src/core/exchange.h src/core/config_offer.h \
	src/core/fd_limit.cc src/core/fd_limit.h \
	src/core/memory_trim.cc src/core/memory_trim.h \
	src/core/reload.cc src/core/reload.h \
	src/core/served_buckets.cc src/core/served_buckets.h \
	src/core/settings.h \
	src/core/static_config.cc src/core/static_config.h \
	src/core/tls_setup.cc src/core/tls_setup.h \
	src/core/stdin_watch.cc src/core/stdin_watch.h \
	src/core/stats_proxy.cc \
	src/core/worker.cc src/core/worker.h
