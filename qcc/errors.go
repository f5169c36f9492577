package qcc

import (
	"errors"
	"fmt"
	"time"
)

// Error is every failure this package returns: a QCC status code other than
// success, a transport failure, or an argument refused before sending.
// Test for a kind with errors.Is(err, qcc.KindBilling) and read the details
// with errors.As(err, &e) where e is *qcc.Error.
//
// No field ever holds the secret key or a Token; URL has the app key masked.
type Error struct {
	Kind Kind
	// Code is the QCC status code, or 0 when QCC sent none.
	Code int
	// Message is QCC's own message (Chinese) or, without a QCC status, a
	// short English description of what failed.
	Message string
	// HTTPStatus is the HTTP status of a non-2xx answer, else 0.
	HTTPStatus int
	// Method is the QCC method called, e.g. "ECICertification/SearchCertification".
	Method string
	// URL is the request URL with the app key masked.
	URL string
	// Retry says whether and when repeating the request can help.
	Retry RetryAdvice
	// Received is when the failure happened, for Retry.At.
	Received time.Time
	// Action is one sentence an agent or an operator can act on.
	Action string
	// Operator is true when only whoever runs the server can fix it.
	Operator bool
	// Local is set when the error was given without calling QCC, by a
	// guard in front of the client (cooldown, budget, rate limit): it says
	// why. Empty when the failure came from QCC or the transport.
	Local string
	// Err is the underlying cause, if any (never containing secrets).
	Err error
}

func (e *Error) Error() string {
	msg := "qcc"
	if e.Method != "" {
		msg += " " + e.Method
	}
	switch {
	case e.Code != 0:
		msg += fmt.Sprintf(": QCC status %d (%s): %s", e.Code, e.Kind, e.Message)
	case e.HTTPStatus != 0:
		msg += fmt.Sprintf(": HTTP %d (%s): %s", e.HTTPStatus, e.Kind, e.Message)
	default:
		msg += fmt.Sprintf(": %s: %s", e.Kind, e.Message)
	}
	if e.Local != "" {
		msg += " (answered locally: " + e.Local + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, kind) true for the error's kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// RetryAt is the earliest time a retry can help, or zero when it cannot.
func (e *Error) RetryAt() time.Time { return e.Retry.At(e.Received) }

// KindOf returns the kind of a qcc error, or "" when err is not one.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
