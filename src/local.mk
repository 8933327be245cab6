# src/ build fragment: everything but main() is in src/libmoxi.a, which the tests link.
noinst_LIBRARIES += src/libmoxi.a
src_libmoxi_a_SOURCES = \
	src/util/evbuf.h \
	src/protocol/request.h
src_libmoxi_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS) $(LIBMEMCACHED_CFLAGS) $(LIBCURL_CFLAGS)

include src/protocol/local.mk
include src/core/local.mk
