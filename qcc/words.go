package qcc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Reason names a failure that has no QCC status code of its own (or, for
// ReasonDetailNotFound, whose code means something else on that method).
// Its sentence for an agent sits in reasonActions, beside the status
// table, so that every sentence this package and the guard hand to an
// agent lives in one of these two tables.
type Reason string

// The reasons.
const (
	ReasonRequestNotBuilt Reason = "request_not_built"
	ReasonTooLarge        Reason = "response_too_large"
	ReasonMalformed       Reason = "malformed_response"
	ReasonCanceled        Reason = "canceled"
	ReasonNetwork         Reason = "network"
	ReasonTimeout         Reason = "timeout"
	ReasonHTTPRateLimited Reason = "http_429" // argument: the wait
	ReasonHTTPServer      Reason = "http_5xx" // argument: the HTTP status
	ReasonHTTPNotFound    Reason = "http_404"
	ReasonHTTPRefused     Reason = "http_401_403" // argument: the HTTP status
	ReasonHTTPOther       Reason = "http_other"   // argument: the HTTP status
	ReasonSearchKeyShort  Reason = "search_key_short"
	ReasonPageSize        Reason = "page_size"
	ReasonPageIndex       Reason = "page_index"
	ReasonCertIDEmpty     Reason = "cert_id_empty"
	ReasonDetailNotFound  Reason = "detail_not_found" // 201 on a detail lookup
	ReasonBudget          Reason = "budget"           // the guard's daily budget
	ReasonRateLimit       Reason = "rate_limit"       // the guard's rate limit
	ReasonBudgetUnknown   Reason = "budget_unknown"   // the guard's shared budget count is unreachable
	ReasonClientBudget    Reason = "client_budget"    // the guard's daily cap of one caller
	ReasonQueryPaused     Reason = "query_paused"     // the guard repeats a 110 for this query
	ReasonQuotaPaused     Reason = "quota_paused"     // the guard repeats a daily-limit code
	ReasonKeyPaused       Reason = "key_paused"       // the guard repeats a key, account or block code
	ReasonNotFoundKept    Reason = "not_found_kept"   // the guard answers a kept 201 for an id
)

// reasonActions holds the Action sentence of each Reason. A %s or %d is
// filled by Action's arguments, as listed beside the constants.
var reasonActions = map[Reason]string{
	ReasonRequestNotBuilt: "The server could not build a request to QCC: the operator should check the QCC API address.",
	ReasonTooLarge:        "QCC's answer was too large to accept: do not repeat the same call; ask for a smaller page (page size) or have the operator raise the size cap.",
	ReasonMalformed:       "QCC's answer could not be read: try again in a few seconds; if it persists the operator should check that the configured API address is QCC's.",
	ReasonCanceled:        "The call was canceled by its caller before QCC answered; repeat it only if the answer is still wanted.",
	ReasonNetwork:         "QCC could not be reached: try again in a few seconds; if it persists the operator should check network access to the QCC API.",
	ReasonTimeout:         "QCC did not answer in time: try again in a few seconds; if it keeps happening the operator should check network access to the QCC API or raise the timeout.",
	ReasonHTTPRateLimited: "QCC is limiting the request rate (HTTP 429): wait %s before trying again.",
	ReasonHTTPServer:      "QCC answered with a server error (HTTP %d): try again in a few seconds; if it persists QCC is probably down.",
	ReasonHTTPNotFound:    "QCC has no such method at this address (HTTP 404): retrying will not help; the operator should check the API address (https://pro.qcc.com/api/yj or https://api.qichacha.com).",
	ReasonHTTPRefused:     "QCC refused access (HTTP %d): retrying will not help; the operator should check the app key, the secret key and the IP whitelist.",
	ReasonHTTPOther:       "QCC rejected the request (HTTP %d): retrying will not help; the operator should check the QCC API address.",
	ReasonSearchKeyShort:  "Give the company's name with at least 2 characters, preferably its full registered name.",
	ReasonPageSize:        "Use a page size from 1 to 20, or leave it out for QCC's default of 10.",
	ReasonPageIndex:       "Use a page index of 1 or more, or leave it out for the first page.",
	ReasonCertIDEmpty:     "A certificate id is required: take it from the id of a SearchCertification result.",
	ReasonDetailNotFound:  "No certificate has this id: take the id from a current SearchCertification result; do not retry the same id.",
	ReasonBudget: "This server's daily budget of QCC calls is used up: answers it already has are still available; " +
		"new questions can be asked after 00:00 Beijing time, or the operator can raise the budget.",
	ReasonRateLimit:     "Too many QCC calls were made at once: repeat this call in a moment, or with a longer timeout.",
	ReasonBudgetUnknown: "This server could not reach its shared count of QCC calls, so it sent nothing rather than risk overspending: repeat the call in a moment; if it persists, tell the operator.",
	ReasonClientBudget: "Your own daily share of QCC calls on this server is used up (other callers are not affected): answers it already has are still available; " +
		"new questions can be asked after 00:00 Beijing time, or the operator can raise --max-calls-per-client-per-day.",
}

// reasonMessages and reasonLocals hold, for the refusals a guard makes
// without calling QCC, the Message (what failed) and the Local sentence
// (why it was answered locally, and until when) of the error.
var (
	reasonMessages = map[Reason]string{
		ReasonBudget:        "the daily budget of QCC calls is used up",
		ReasonRateLimit:     "too many calls to QCC at once",
		ReasonBudgetUnknown: "the count of today's QCC calls could not be read",
		ReasonClientBudget:  "this caller's daily share of QCC calls is used up",
	}
	reasonLocals = map[Reason]string{
		ReasonBudget:        "daily budget of %d QCC calls used up; resets at 00:00 Beijing (%s)",
		ReasonRateLimit:     "the rate limit of %s to QCC had no free slot before this call's deadline",
		ReasonBudgetUnknown: "the shared count of today's QCC calls did not answer (%s); nothing was sent",
		ReasonClientBudget:  "daily cap of %d QCC calls per caller used up by this caller; resets at 00:00 Beijing (%s)",
		ReasonQueryPaused:   "QCC answered %d for this exact query at %s; not sent again until %s",
		ReasonQuotaPaused:   "QCC answered %d (daily limit reached) at %s; no call is sent to QCC until 00:00 Beijing time (%s)",
		ReasonKeyPaused:     "QCC answered %d (%s) at %s; calls to QCC are paused until %s so that a refused key is not sent again and again",
		ReasonNotFoundKept:  "QCC answered 201 for this id at %s; the answer was kept in the cache",
	}
)

// Action returns r's sentence for an agent with args filled in.
func (r Reason) Action(args ...any) string { return fill(reasonActions[r], args) }

// Message returns r's description of what failed, with args filled in.
func (r Reason) Message(args ...any) string { return fill(reasonMessages[r], args) }

// Local returns r's sentence saying why a call was answered locally.
func (r Reason) Local(args ...any) string { return fill(reasonLocals[r], args) }

func fill(s string, args []any) string {
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Reasons returns every reason with its sentence unfilled, for tables.
func Reasons() map[Reason]string {
	out := make(map[Reason]string, len(reasonActions))
	for r, s := range reasonActions {
		out[r] = s
	}
	return out
}

// StatusError is the error for QCC's status code on method, received at
// received. upstreamMessage is QCC's own message; empty gives the vendor
// document's. The client and the guard (which repeats a refusal locally)
// both build it here.
func StatusError(method string, code int, upstreamMessage string, received time.Time) *Error {
	info, _ := LookupStatus(code)
	msg := upstreamMessage
	if msg == "" {
		msg = info.Message
	}
	return &Error{
		Kind: info.Kind, Code: code, Message: msg, Method: method, Retry: info.Retry,
		Received: received, Action: info.Action, Operator: info.Operator,
	}
}

// DetailNotFoundError is the error for QCC's 201 on a detail lookup: no
// certificate has the id (the status table's advice speaks of searches).
func DetailNotFoundError(upstreamMessage string, received time.Time) *Error {
	e := StatusError(MethodDetail, 201, upstreamMessage, received)
	e.Action = ReasonDetailNotFound.Action()
	return e
}

// CanceledError is the error for a caller whose context ended (ctxErr is
// ctx.Err()) before QCC answered. It wraps ctxErr, so that
// errors.Is(err, context.Canceled) keeps working.
func CanceledError(method string, ctxErr error, received time.Time) *Error {
	msg := "the caller canceled the request before QCC answered"
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		msg = "the caller's deadline passed before QCC answered"
	}
	return &Error{
		Kind: KindCanceled, Message: msg, Method: method, Received: received, Err: ctxErr,
		Action: ReasonCanceled.Action(),
	}
}

// CheckSearch returns the error SearchCertification gives for p without
// sending anything, or nil when p may be sent. The search key is checked
// after trimming surrounding white space, as it is sent.
func CheckSearch(p SearchParams, now time.Time) *Error {
	searchKey := strings.TrimSpace(p.SearchKey)
	if n := utf8.RuneCountInString(searchKey); n < MinSearchKeyLength {
		return invalidArgument(MethodSearch,
			fmt.Sprintf("the search key (company name) has %d characters, at least %d are needed", n, MinSearchKeyLength),
			ReasonSearchKeyShort, now)
	}
	if p.PageSize < 0 || p.PageSize > MaxPageSize {
		return invalidArgument(MethodSearch,
			fmt.Sprintf("the page size %d is outside 1..%d", p.PageSize, MaxPageSize), ReasonPageSize, now)
	}
	if p.PageIndex < 0 {
		return invalidArgument(MethodSearch,
			fmt.Sprintf("the page index %d is negative", p.PageIndex), ReasonPageIndex, now)
	}
	return nil
}

func invalidArgument(method, msg string, r Reason, now time.Time) *Error {
	return &Error{
		Kind: KindInvalidArgument, Message: msg, Method: method,
		Retry: never, Received: now, Action: r.Action(),
	}
}
