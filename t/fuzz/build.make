# Builds the libFuzzer targets with clang (the project itself builds with g++
# through automake, which does not know about these). Used by t/fuzz/run:
#   make -f t/fuzz/build.make TOP=<source tree> OUT=<scratch dir> -j2
# Each target lists exactly the sources it needs; objects are shared and
# rebuilt from their -MMD dependency files.
CXX = clang++
SAN = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fsanitize-ignorelist=$(TOP)/t/fuzz/ubsan_ignore.txt
CXXFLAGS = -std=c++20 -g -O1 -Wall -Wextra -Werror $(SAN)
CPPFLAGS = -I$(TOP) $(shell pkg-config --cflags libevent libmemcached)
LIBS = $(shell pkg-config --libs libevent libmemcached libcrypto libssl liburing) -lhashkit

BUFFERS = src/util/byte_chain.cc src/util/event_alloc.cc
PROTOCOL = $(BUFFERS) src/protocol/ascii_numbers.cc src/protocol/status_text.cc src/protocol/extended_errors.cc src/protocol/stats_merge.cc \
	src/protocol/ascii_client.cc src/protocol/meta_client.cc src/protocol/binary_client.cc \
	src/protocol/ascii_backend.cc src/protocol/binary_backend.cc src/protocol/meta_backend.cc
VBUCKET = vbucket/key_hash.cc vbucket/ketama.cc vbucket/config.cc vbucket/host_port.cc \
	vbucket/json_util.cc vbucket/text_file.cc vbucket/bucket_json.cc vbucket/config_parse.cc \
	vbucket/buckets_parse.cc vbucket/server_list_parse.cc vbucket/static_config_parse.cc vbucket/document_parse.cc

fuzz_ascii_client_SRCS = t/fuzz/fuzz_ascii_client.cc $(PROTOCOL) t/protocol/test_util.cc
fuzz_binary_client_SRCS = t/fuzz/fuzz_binary_client.cc $(PROTOCOL) t/protocol/test_util.cc
fuzz_ascii_backend_SRCS = t/fuzz/fuzz_ascii_backend.cc $(PROTOCOL)
fuzz_binary_backend_SRCS = t/fuzz/fuzz_binary_backend.cc $(PROTOCOL)
fuzz_meta_backend_SRCS = t/fuzz/fuzz_meta_backend.cc $(PROTOCOL)
fuzz_meta_client_SRCS = t/fuzz/fuzz_meta_client.cc $(PROTOCOL) t/protocol/test_util.cc
fuzz_config_SRCS = t/fuzz/fuzz_config.cc $(VBUCKET)
fuzz_stream_splitter_SRCS = t/fuzz/fuzz_stream_splitter.cc conflate/stream_splitter.cc
fuzz_uring_stream_SRCS = t/fuzz/fuzz_uring_stream.cc src/net/loop.cc src/net/stream.cc src/net/uring.cc \
	src/net/buffer_budget.cc src/util/tls.cc $(BUFFERS)

TARGETS = fuzz_ascii_client fuzz_binary_client fuzz_meta_client fuzz_ascii_backend fuzz_binary_backend fuzz_meta_backend fuzz_config fuzz_stream_splitter fuzz_uring_stream

obj = $(patsubst %.cc,$(OUT)/obj/%.o,$(1))

all: $(addprefix $(OUT)/bin/,$(TARGETS))

define target_rule
$(OUT)/bin/$(1): $(call obj,$($(1)_SRCS))
	@mkdir -p $$(@D)
	$$(CXX) $$(CXXFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(TARGETS),$(eval $(call target_rule,$(t))))

$(OUT)/obj/%.o: $(TOP)/%.cc $(TOP)/t/fuzz/build.make $(TOP)/t/fuzz/ubsan_ignore.txt
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
.PHONY: all
