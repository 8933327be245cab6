# src/ build fragment: everything but main() is in src/libmoxi.a, which the tests link.
noinst_LIBRARIES += src/libmoxi.a
src_libmoxi_a_SOURCES = \
	src/util/evbuf.h \
	src/util/event_alloc.cc src/util/event_alloc.h \
	src/util/fifo.h \
	src/util/log.cc src/util/log.h \
	src/util/timer.h \
	src/util/tls.cc src/util/tls.h \
	src/net/buffer_budget.cc src/net/buffer_budget.h \
	src/net/listener.cc src/net/listener.h \
	src/net/loop.cc src/net/loop.h \
	src/net/notify.cc src/net/notify.h \
	src/net/stream.cc src/net/stream.h \
	src/protocol/request.h src/protocol/value_bytes.h \
	src/routing/snapshot.cc src/routing/snapshot.h \
	src/routing/bucket_access.cc src/routing/bucket_access.h \
	src/routing/down_policy.cc src/routing/down_policy.h \
	src/routing/key_router.cc src/routing/key_router.h \
	src/routing/admission.h \
	src/util/request_timer.h \
	src/core/app.cc src/core/app.h \
	src/core/check_config.cc src/core/check_config.h \
	src/core/client_connection.cc src/core/client_connection.h \
	src/core/config_follower.cc src/core/config_follower.h \
	src/core/dispatch.cc \
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
src_libmoxi_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS) $(LIBMEMCACHED_CFLAGS) $(LIBCURL_CFLAGS) $(SASL_CFLAGS)

# The git revision moxi is built from: looked up at every build, the header
# rewritten only when it changes. A release tarball carries the revision it
# was made from in .build-revision (written by dist-hook), so that a build
# of it (the Debian package's too) says the same; "unknown" when neither
# tells.
BUILT_SOURCES += src/build_revision.h
CLEANFILES += src/build_revision.h
moxi_build_revision = if test -f $(top_srcdir)/.build-revision; then cat $(top_srcdir)/.build-revision; \
	else git -C $(top_srcdir) rev-parse --short=12 HEAD 2>/dev/null || echo unknown; fi
src/build_revision.h: FORCE
	$(AM_V_GEN)rev=`$(moxi_build_revision)`; \
	echo "#define MOXI_BUILD_REVISION \"$$rev\"" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:
.PHONY: FORCE
dist-hook:
	$(moxi_build_revision) >$(distdir)/.build-revision
src/config/libmoxi_a-help.$(OBJEXT) src/stats/libmoxi_a-render.$(OBJEXT): src/build_revision.h

include src/protocol/local.mk
include src/backend/local.mk
include src/config/local.mk
include src/stats/local.mk

# The moxi binary: main() only.
bin_PROGRAMS += src/moxi
src_moxi_SOURCES = src/main.cc
src_moxi_CPPFLAGS = $(src_libmoxi_a_CPPFLAGS)
src_moxi_LDADD = src/libmoxi.a conflate/libconflate.a vbucket/libvbucket.a $(LIBEVENT_LIBS) $(LIBMEMCACHED_LIBS) $(LIBCURL_LIBS) -lpthread $(SASL_LIBS) $(LIBSSL_LIBS)
