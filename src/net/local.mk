# src/net/ fragment: the event loop, stream connections, listening sockets,
# the notify queue and the buffer budget, added to src/libmoxi.a.
src_libmoxi_a_SOURCES += \
	src/net/buffer_budget.cc src/net/buffer_budget.h \
	src/net/listener.cc src/net/listener.h \
	src/net/loop.cc src/net/loop.h \
	src/net/notify.cc src/net/notify.h \
	src/net/stream.cc src/net/stream.h \
	src/net/uring.cc src/net/uring.h
