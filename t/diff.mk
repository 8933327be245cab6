# t/ fragment: the differential harness - generated command streams against a
# real memcached and against moxi in front of one, replies compared byte for
# byte (t/diff/campaign.h). t/diff/run runs it for longer campaigns.
check_PROGRAMS += t/diff_tests
TESTS += t/diff_tests
t_diff_tests_SOURCES = \
	t/diff/stream.cc t/diff/stream.h \
	t/diff/generator.cc t/diff/generator.h \
	t/diff/transport.cc t/diff/transport.h \
	t/diff/normalise.cc t/diff/normalise.h \
	t/diff/known.cc t/diff/known.h \
	t/diff/shrink.cc t/diff/shrink.h \
	t/diff/campaign.cc t/diff/campaign.h \
	t/diff/diff_test.cc \
	t/proxy/cluster.cc t/proxy/cluster.h
t_diff_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS)
# t/proxy/cluster.cc (the moxi-in-front-of-memcached fixture) places keys
# with t/support/oracle (zlib, libmemcached).
t_diff_tests_LDADD = t/libtestsupport.a $(ZLIB_LIBS) $(LIBMEMCACHED_LIBS) $(CPPUNIT_LIBS) -lpthread
EXTRA_DIST += t/diff/run
