// HTTP status reason phrases, shared by the problem+json bodies of core and
// the status lines written by the FastCGI front end.
#pragma once

namespace invsys {

// The IANA-registered reason phrase of `status` (RFC 9110's names: 413 is
// "Content Too Large", 422 "Unprocessable Content"); "Error" when unknown.
const char* http_reason_phrase(int status) noexcept;

}  // namespace invsys
