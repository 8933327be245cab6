# vbucket/ build fragment (included by the top-level Makefile.am).
# The cluster-map library: parse configs, map keys, diff maps. No libevent,
# no libcurl; libmemcached/libhashkit for the hashes, RapidJSON (headers).
noinst_LIBRARIES += vbucket/libvbucket.a
vbucket_libvbucket_a_SOURCES = \
	vbucket/result.h \
	vbucket/key_hash.cc vbucket/key_hash.h \
	vbucket/ketama.cc vbucket/ketama.h \
	vbucket/config.cc vbucket/config.h \
	vbucket/host_port.cc vbucket/host_port.h \
	vbucket/json_util.cc vbucket/json_util.h \
	vbucket/text_file.cc vbucket/text_file.h \
	vbucket/bucket_json.cc vbucket/bucket_json.h \
	vbucket/parse_options.h \
	vbucket/config_parse.cc vbucket/config_parse.h \
	vbucket/document_parse.cc vbucket/document_parse.h \
	vbucket/buckets_parse.cc vbucket/buckets_parse.h vbucket/buckets_json.h \
	vbucket/server_list_parse.cc vbucket/server_list_parse.h \
	vbucket/static_config_parse.cc vbucket/static_config_parse.h \
	vbucket/config_loader.cc vbucket/config_loader.h \
	vbucket/config_diff.cc vbucket/config_diff.h \
	vbucket/vbucket_view.cc vbucket/vbucket_view.h \
	vbucket/vbuckettool.cc vbucket/vbuckettool.h
vbucket_libvbucket_a_CPPFLAGS = $(AM_CPPFLAGS) $(LIBMEMCACHED_CFLAGS)

# Link line for anything that uses the library.
VBUCKET_LIBS = vbucket/libvbucket.a $(LIBMEMCACHED_LIBS)

bin_PROGRAMS += vbucket/vbuckettool
vbucket_vbuckettool_SOURCES = vbucket/vbuckettool_main.cc
vbucket_vbuckettool_LDADD = $(VBUCKET_LIBS)

man_MANS += man/vbuckettool.1
EXTRA_DIST += man/vbuckettool.1 vbucket/README.md
