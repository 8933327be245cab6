# src/util/ fragment: buffers, clocks and timers, the log, TLS wrappers,
# added to src/libmoxi.a. The lowest layer: it includes nothing of moxi's.
src_libmoxi_a_SOURCES += \
	src/util/byte_chain.cc src/util/byte_chain.h \
	src/util/clock.h \
	src/util/event_alloc.cc src/util/event_alloc.h \
	src/util/fifo.h \
	src/util/log.cc src/util/log.h \
	src/util/request_timer.h \
	src/util/timer.h \
	src/util/tls.cc src/util/tls.h
