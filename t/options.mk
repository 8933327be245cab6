# t/ fragment for the command-line options tests.
check_PROGRAMS += t/options_tests
TESTS += t/options_tests
t_options_tests_SOURCES = \
	t/options/options_test.cc \
	t/options/behaviors_test.cc \
	t/options/cluster_config_test.cc \
	t/options/docs_test.cc \
	t/options/helpers.h
t_options_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBEVENT_CFLAGS)
t_options_tests_LDADD = t/libtestsupport.a src/libmoxi.a $(LIBEVENT_LIBS) $(CPPUNIT_LIBS)
# The fixtures these tests read (t/fixtures is not distributed as a whole yet).
EXTRA_DIST += \
	t/fixtures/moxi-t/vbucket1.cfg \
	t/fixtures/moxi-t/moxi_mock.cfg \
	t/fixtures/moxi-t/vbucket_rest1.cfg
