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
