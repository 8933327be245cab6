# conflate/ build fragment (included by the top-level Makefile.am).
# Getting cluster configs: the streaming REST client (libcurl, its own
# thread), the file source, the config cache. Validation is vbucket/'s; no
# libevent here.
noinst_LIBRARIES += conflate/libconflate.a
conflate_libconflate_a_SOURCES = \
	conflate/config_source.cc conflate/config_source.h \
	conflate/stream_splitter.cc conflate/stream_splitter.h \
	conflate/document_filter.cc conflate/document_filter.h \
	conflate/document_file.cc conflate/document_file.h \
	conflate/config_cache.cc conflate/config_cache.h \
	conflate/url.cc conflate/url.h \
	conflate/backoff.cc conflate/backoff.h \
	conflate/http_transfer.cc conflate/http_transfer.h \
	conflate/http_stream_source.cc conflate/http_stream_source.h \
	conflate/file_source.cc conflate/file_source.h
conflate_libconflate_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBCURL_CFLAGS)

# Link line for anything that uses the library.
CONFLATE_LIBS = conflate/libconflate.a vbucket/libvbucket.a $(LIBCURL_LIBS) $(LIBMEMCACHED_LIBS) -lpthread

EXTRA_DIST += conflate/README.md
