package tools

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// errorResult turns any failure of a tool call into an isError result whose
// text names the problem and the next step, and notes the outcome for the
// call's log line.
func errorResult(ctx context.Context, err error, now time.Time) *mcp.CallToolResult {
	text, outcome, code := describeError(err, now)
	rec := record(ctx)
	rec.outcome = outcome
	if code != 0 {
		rec.qccStatus = code
	}
	return mcp.NewToolResultError(text)
}

// The failures of this server itself, beside the qcc errors: each is a
// type, and its words for an agent are in toolWords.
type (
	// argumentError is a bad argument, caught before anything is sent.
	argumentError struct{ problems []string }
	// busyError is a call over Options.MaxConcurrentCalls.
	busyError struct{ limit int }
	// panicError is a handler that panicked; the panic went to the log.
	panicError struct{ tool string }
	// unknownIDError is QCC's 201 on a detail lookup: no such id.
	unknownIDError struct{ id string }
)

func (e *argumentError) Error() string  { return strings.Join(e.problems, "; ") }
func (e *busyError) Error() string      { return fmt.Sprintf("busy: %d calls running", e.limit) }
func (e *panicError) Error() string     { return "panic in " + e.tool }
func (e *unknownIDError) Error() string { return fmt.Sprintf("no certificate has the id %q", e.id) }

// toolWords are the sentences of this server's own failures; those of
// QCC's codes and of the client's and the guard's failures are in package
// qcc's two tables (status.go and words.go). %d, %q and %s are filled by
// describeError.
var toolWords = struct {
	argument, busy, panic, unknownID, internal, budgetShort string
}{
	budgetShort: "Refused by this server's cost guard (local_limit) before any QCC call: the %d companies need at least %d QCC call(s) beyond the cache " +
		"(%d of them fully cached, free), and today's budget has %d call(s) left.\nNothing was sent to QCC.\n" +
		"What to do: check fewer companies at once (at most %d uncached ones now; the cached ones cost nothing), or wait until %s when the budget resets.\n" +
		"Retry: not with the same list before the reset.",
	argument: "Invalid arguments: %s.\nNothing was sent to QCC. Fix the argument(s) and call again.",
	busy: "The server is busy: %d tool calls are already running, its limit. Nothing was sent to QCC.\n" +
		"Retry: yes, in a few seconds.",
	panic: "Internal error in %s: the server hit a bug and logged it. Retrying the same call is unlikely to help; tell the operator.",
	unknownID: "QCC status 201 (no_result): no certificate has the id %q.\n" +
		"What to do: use an id exactly as returned by search_certifications; search again if you do not have one.\n" +
		"Retry: no, the same id will not be found.",
	internal: "Internal error: %s.\nRetrying is unlikely to help; tell the operator.",
}

// describeError is the one place where errors become words for an agent.
// It also returns the outcome to log and the QCC status, if any.
func describeError(err error, now time.Time) (text, outcome string, qccStatus int) {
	var (
		argErr  *argumentError
		busy    *busyError
		panicky *panicError
		unknown *unknownIDError
		short   *budgetShortError
		qe      *qcc.Error
	)
	switch {
	case errors.As(err, &argErr):
		return fmt.Sprintf(toolWords.argument, argErr.Error()), "invalid_argument", 0
	case errors.As(err, &busy):
		return fmt.Sprintf(toolWords.busy, busy.limit), "busy", 0
	case errors.As(err, &panicky):
		return fmt.Sprintf(toolWords.panic, panicky.tool), "internal", 0
	case errors.As(err, &unknown):
		return fmt.Sprintf(toolWords.unknownID, unknown.id), string(qcc.KindNoResult), 201
	case errors.As(err, &short):
		return fmt.Sprintf(toolWords.budgetShort, short.companies, short.need, short.cached, short.left, short.left,
			beijingTime(short.resets)), string(qcc.KindLocalLimit), 0
	case errors.As(err, &qe):
		return describeQCCError(qe, now), string(qe.Kind), qe.Code
	default:
		return fmt.Sprintf(toolWords.internal, err.Error()), "internal", 0
	}
}

// describeQCCError renders a qcc error: what failed (with "QCC status N"
// whenever QCC sent a code), what to do, and whether and when to retry.
func describeQCCError(e *qcc.Error, now time.Time) string {
	var b strings.Builder
	switch {
	case e.Code != 0:
		info, known := qcc.LookupStatus(e.Code)
		fmt.Fprintf(&b, "QCC status %d (%s): %s", e.Code, e.Kind, e.Message)
		if known && info.Meaning != "" {
			fmt.Fprintf(&b, " (%s)", info.Meaning)
		}
		b.WriteString(".")
	case e.Kind == qcc.KindLocalLimit:
		fmt.Fprintf(&b, "Refused by this server's cost guard (%s): %s.", e.Kind, e.Message)
	case e.Kind == qcc.KindInvalidArgument:
		fmt.Fprintf(&b, "Invalid arguments: %s. Nothing was sent to QCC.", e.Message)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, "QCC answered HTTP %d instead of data (%s): %s.", e.HTTPStatus, e.Kind, e.Message)
	default:
		fmt.Fprintf(&b, "The call to QCC failed (%s): %s.", e.Kind, e.Message)
	}
	if e.Local != "" {
		b.WriteString("\nAnswered locally, without calling QCC: " + e.Local)
	}
	if e.Action != "" {
		b.WriteString("\nWhat to do: " + e.Action)
	}
	b.WriteString("\n" + retryLine(e, now))
	if e.Operator {
		b.WriteString("\nOnly the operator of this server can fix this: tell the user.")
	}
	return b.String()
}

func retryLine(e *qcc.Error, now time.Time) string {
	at := e.RetryAt()
	switch {
	case !e.Retry.Retryable:
		return "Retry: no, the same call will fail the same way."
	case e.Retry.AtBeijingMidnight:
		return fmt.Sprintf("Retry: not before %s (00:00 Beijing time, when the daily limit resets).", beijingTime(at))
	case e.Retry.After >= time.Minute:
		return fmt.Sprintf("Retry: not before %s (in %s).", beijingTime(at), roundDuration(at.Sub(now)))
	default:
		return "Retry: yes, in a few seconds."
	}
}

func beijingTime(t time.Time) string { return string(appendBeijingTime(nil, t)) }

// appendBeijingTime appends t as Beijing time and RFC 3339 UTC.
func appendBeijingTime(dst []byte, t time.Time) []byte {
	dst = append(t.In(qcc.Beijing).AppendFormat(dst, "2006-01-02 15:04 MST"), " ("...)
	return append(t.UTC().AppendFormat(dst, time.RFC3339), ')')
}

func roundDuration(d time.Duration) string { return string(appendDuration(nil, d)) }

// appendDuration appends d to the minute: "less than a minute", "5 min",
// "2 h", "2 h 5 min".
func appendDuration(dst []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Minute)
	if d < time.Minute {
		return append(dst, "less than a minute"...)
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return append(strconv.AppendInt(dst, int64(m), 10), " min"...)
	case m == 0:
		return append(strconv.AppendInt(dst, int64(h), 10), " h"...)
	default:
		dst = append(strconv.AppendInt(dst, int64(h), 10), " h "...)
		return append(strconv.AppendInt(dst, int64(m), 10), " min"...)
	}
}
