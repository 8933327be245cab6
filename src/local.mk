# src/ build fragment: everything but main() is in src/libmoxi.a, which the tests link.
noinst_LIBRARIES += src/libmoxi.a
# Each folder adds its files in its own fragment (included below), lowest
# layer first.
src_libmoxi_a_SOURCES =
src_libmoxi_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBEVENT_CFLAGS) $(LIBURING_CFLAGS) $(LIBMEMCACHED_CFLAGS) $(LIBCURL_CFLAGS) $(SASL_CFLAGS)

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

include src/util/local.mk
include src/net/local.mk
include src/protocol/local.mk
include src/routing/local.mk
include src/stats/local.mk
include src/backend/local.mk
include src/config/local.mk
include src/core/local.mk

# The moxi binary: main() only.
bin_PROGRAMS += src/moxi
src_moxi_SOURCES = src/main.cc
src_moxi_CPPFLAGS = $(src_libmoxi_a_CPPFLAGS)
src_moxi_LDADD = src/libmoxi.a conflate/libconflate.a vbucket/libvbucket.a $(LIBEVENT_LIBS) $(LIBMEMCACHED_LIBS) $(LIBCURL_LIBS) -lpthread $(SASL_LIBS) $(LIBSSL_LIBS) $(LIBURING_LIBS)
