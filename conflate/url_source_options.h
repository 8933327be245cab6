// From the command line to an HttpStreamSource: the options parser
// (src/core/options.h) has already split "-z url=...", "-z auth=U%P" and
// "http://user:pw@host/..." into a moxi::UrlSource, and -Z config_cache into
// Behaviors. This maps them; everything else keeps HttpStreamOptions'
// defaults (the -Z timeouts are the backend connections', not the REST
// client's).
//
// Only the plain fields of those structs are read: nothing here needs
// src/libmoxi.a at link time.
//
// Thread-safety: pure function.
#pragma once

#include "conflate/http_stream_source.h"
#include "src/core/options.h"

namespace moxi::conflate {

// urls = source.urls; auth = source.auth (parse_options has filled it from
// -Z usr/pwd when the source gave none); cache_path = behaviors.config_cache.
// With several URL sources in one process, give each its own cache path.
HttpStreamOptions http_options_from(const moxi::UrlSource& source, const moxi::Behaviors& behaviors);

}  // namespace moxi::conflate
