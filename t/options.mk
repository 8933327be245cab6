# t/ fragment for the command-line options tests.
check_PROGRAMS += t/options_tests
TESTS += t/options_tests
t_options_tests_SOURCES = \
	t/options/options_test.cc \
	t/options/behaviors_test.cc \
	t/options/cluster_config_test.cc \
	t/options/docs_test.cc \
	t/options/check_config_test.cc \
	t/options/url_source_options_test.cc \
	t/options/secrets_test.cc \
	t/options/helpers.h
t_options_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBEVENT_CFLAGS)
t_options_tests_LDADD = t/libtestsupport.a src/libmoxi.a conflate/libconflate.a vbucket/libvbucket.a $(LIBEVENT_LIBS) \
	$(LIBMEMCACHED_LIBS) $(LIBCURL_LIBS) $(LIBCRYPTO_LIBS) $(ZLIB_LIBS) $(CPPUNIT_LIBS) -lpthread $(SASL_LIBS) $(LIBSSL_LIBS) $(LIBURING_LIBS)
# The fixtures these tests read (t/fixtures is not distributed as a whole yet).
EXTRA_DIST += \
	t/fixtures/moxi-t/vbucket1.cfg \
	t/fixtures/moxi-t/moxi_mock.cfg \
	t/fixtures/moxi-t/vbucket_rest1.cfg \
	t/fixtures/tests-config/testapp-config \
	t/fixtures/tests-config/testapp-config-in-envelope \
	t/fixtures/tests-config/testapp-config-flat \
	t/fixtures/tests-config/testapp-config-wrong-num-vbuckets \
	t/fixtures/libcouchbase-confdata/full_25.json \
	t/fixtures/libcouchbase-confdata/terse_25.json \
	t/fixtures/libcouchbase-confdata/memd_ketama_config.json
