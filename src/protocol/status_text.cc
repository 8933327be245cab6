#include "src/protocol/status_text.h"

namespace moxi::protocol {

std::string_view binary_status_text(Status status) {
  switch (status) {
    case Status::Success: return "";
    case Status::KeyNotFound: return "Not found";
    case Status::KeyExists: return "Data exists for key.";
    case Status::TooLarge: return "Too large.";
    case Status::InvalidArguments: return "Invalid arguments";
    case Status::NotStored: return "Not stored.";
    case Status::DeltaBadValue: return "Non-numeric server-side value for incr or decr";
    case Status::NotMyVbucket: return "Not my vbucket";
    case Status::Locked: return "Locked";
    case Status::AuthError: return "Auth failure.";
    case Status::AuthContinue: return "Auth continue";
    case Status::UnknownCommand: return "Unknown command";
    case Status::OutOfMemory: return "Out of memory";
    case Status::NotSupported: return "Not supported";
    case Status::InternalError: return "Internal error";
    case Status::Busy: return "System is busy";
    case Status::TemporaryFailure: return "Temporary failure";
  }
  return "Unknown error";
}

namespace {

bool is_storage(Op op) {
  return op == Op::Set || op == Op::Add || op == Op::Replace || op == Op::Append || op == Op::Prepend;
}

// Texts for outcomes that read the same whatever the command.
std::string_view generic_error_line(Op op, Status status) {
  switch (status) {
    case Status::TooLarge: return "SERVER_ERROR object too large for cache";
    case Status::OutOfMemory:
      return is_storage(op) ? "SERVER_ERROR out of memory storing object" : "SERVER_ERROR out of memory";
    case Status::DeltaBadValue: return "CLIENT_ERROR cannot increment or decrement non-numeric value";
    case Status::InvalidArguments: return "CLIENT_ERROR bad command line format";
    case Status::NotMyVbucket: return "SERVER_ERROR not my vbucket";
    case Status::Locked: return "LOCK_ERROR";
    case Status::AuthError: return "SERVER_ERROR auth failure";
    case Status::AuthContinue: return "SERVER_ERROR auth continue";
    case Status::UnknownCommand: return "ERROR";  // memcached's answer to a command it does not know
    case Status::NotSupported: return "SERVER_ERROR not supported";
    case Status::InternalError: return "SERVER_ERROR internal error";
    case Status::Busy: return "SERVER_ERROR system is busy";
    case Status::TemporaryFailure: return "SERVER_ERROR temporary failure";
    case Status::NotStored: return "NOT_STORED";
    case Status::KeyExists: return "EXISTS";
    case Status::KeyNotFound: return "NOT_FOUND";
    case Status::Success: return "OK";
  }
  return "SERVER_ERROR unknown error";
}

}  // namespace

std::string_view ascii_status_line(Op op, bool cas_command, Status status) {
  if (status == Status::Success) {
    switch (op) {
      case Op::Set:
      case Op::Add:
      case Op::Replace:
      case Op::Append:
      case Op::Prepend: return "STORED";
      case Op::Delete: return "DELETED";
      case Op::Touch: return "TOUCHED";
      default: return "OK";
    }
  }
  // memcached -F refuses flush_all: its binary side says "auth failure",
  // its ascii side this line; ascii clients read what memcached writes them.
  if (op == Op::Flush && status == Status::AuthError) return "CLIENT_ERROR flush_all not allowed";
  if (is_storage(op)) {
    if (status == Status::KeyExists) return op == Op::Add ? "NOT_STORED" : "EXISTS";
    if (status == Status::KeyNotFound) return cas_command ? "NOT_FOUND" : "NOT_STORED";
  }
  return generic_error_line(op, status);
}

}  // namespace moxi::protocol
