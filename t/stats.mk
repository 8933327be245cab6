# t/ fragment: unit tests of the metrics table, histograms and masking (src/stats/).
check_PROGRAMS += t/stats_tests
TESTS += t/stats_tests
t_stats_tests_SOURCES = t/stats/metrics_test.cc
t_stats_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBEVENT_CFLAGS)
t_stats_tests_LDADD = t/libtestsupport.a src/libmoxi.a vbucket/libvbucket.a $(LIBEVENT_LIBS) $(LIBMEMCACHED_LIBS) $(CPPUNIT_LIBS) $(SASL_LIBS) $(LIBSSL_LIBS) $(LIBURING_LIBS)
