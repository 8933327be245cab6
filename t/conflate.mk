# t/ fragment for the conflate tests: one binary, t/conflate_tests.
check_PROGRAMS += t/conflate_tests
TESTS += t/conflate_tests
t_conflate_tests_SOURCES = \
	t/conflate/configs.h \
	t/conflate/collector.h \
	t/conflate/splitter_test.cc \
	t/conflate/splitter_property_test.cc \
	t/conflate/url_test.cc \
	t/conflate/backoff_test.cc \
	t/conflate/document_test.cc \
	t/conflate/config_cache_test.cc \
	t/conflate/file_source_test.cc \
	t/conflate/script_server.cc t/conflate/script_server.h \
	t/conflate/http_source_test.cc
t_conflate_tests_CPPFLAGS = $(TEST_SUPPORT_CPPFLAGS) $(LIBCURL_CFLAGS)
t_conflate_tests_LDADD = t/libtestsupport.a conflate/libconflate.a vbucket/libvbucket.a $(LIBCURL_LIBS) $(LIBMEMCACHED_LIBS) $(CPPUNIT_LIBS)
