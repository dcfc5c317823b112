package vend

import (
	"errors"
	"fmt"
)

// Error codes: the kind of an error. HTTPStatus turns them into HTTP statuses,
// for web's pages and API and for delivery's downloads alike.
const (
	ECONFLICT  = "conflict"
	EINTERNAL  = "internal"
	EINVALID   = "invalid"
	ENOTFOUND  = "not_found"
	EFORBIDDEN = "forbidden"
	EGONE      = "gone"
	ETOOLARGE  = "too_large"
	// EUNPROCESSABLE is a request whose field is missing or not what it must
	// be, where an API says so apart from other bad requests (the licence
	// API, as Lemon Squeezy's does).
	EUNPROCESSABLE = "unprocessable"
	// EUNAVAILABLE is a request vend cannot serve now but can later: the
	// server is out of a resource (open files), not the request wrong.
	EUNAVAILABLE = "unavailable"
)

// Error is an error whose message is safe to show to the person who caused it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("vend error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted public message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other error and "" for nil. Unknown means internal.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the public message of err, or "Internal error." for errors
// that carry none, so driver text never reaches a buyer.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// HTTPStatus is the HTTP status of err's code: the one table from codes to
// statuses. (The numbers are RFC 9110's; the domain does not import net/http.)
func HTTPStatus(err error) int {
	switch ErrorCode(err) {
	case EINVALID:
		return 400 // Bad Request
	case EFORBIDDEN:
		return 403 // Forbidden
	case ENOTFOUND:
		return 404 // Not Found
	case ECONFLICT:
		return 409 // Conflict
	case EGONE:
		return 410 // Gone
	case ETOOLARGE:
		return 413 // Content Too Large
	case EUNPROCESSABLE:
		return 422 // Unprocessable Content
	case EUNAVAILABLE:
		return 503 // Service Unavailable
	}
	return 500 // Internal Server Error
}
