package qcc

import (
	"fmt"
	"sort"
	"time"
)

// Kind classifies a failure so that callers can decide what to do without
// knowing individual QCC status codes. A Kind is itself an error, so
// errors.Is(err, qcc.KindAuth) reports whether err is of that kind.
type Kind string

// The kinds of failure. The first group comes from QCC status codes, the
// second from the transport.
const (
	KindNoResult        Kind = "no_result"        // 201: nothing matches
	KindInvalidArgument Kind = "invalid_argument" // the request's arguments are wrong or too broad
	KindUnsupported     Kind = "unsupported"      // QCC does not offer this query for this company or method
	KindPending         Kind = "pending"          // 205: QCC is still preparing the answer
	KindThrottled       Kind = "throttled"        // QCC refuses this query for a while
	KindQuotaExhausted  Kind = "quota_exhausted"  // a daily limit is reached
	KindAuth            Kind = "auth"             // key, signature or Timespan rejected
	KindBilling         Kind = "billing"          // the account must pay or buy the API
	KindBlocked         Kind = "blocked"          // the key or account is suspended
	KindDisabled        Kind = "disabled"         // the API is offline, deleted or not enabled
	KindUnavailable     Kind = "unavailable"      // QCC is overloaded; try later
	KindUpstreamFailure Kind = "upstream_failure" // QCC failed internally
	KindUnknown         Kind = "unknown"          // a status code the document does not list

	KindNetwork          Kind = "network"            // connection refused, reset, DNS failure
	KindTimeout          Kind = "timeout"            // no complete answer within the timeout
	KindCanceled         Kind = "canceled"           // the caller's context ended
	KindHTTPStatus       Kind = "http_status"        // a non-2xx HTTP answer
	KindMalformed        Kind = "malformed_response" // a body that is not the documented JSON
	KindResponseTooLarge Kind = "response_too_large" // a body over the size cap
	KindLocalLimit       Kind = "local_limit"        // refused before sending, by a local guard (rate, budget, cooldown)
)

// Error makes a Kind usable as an errors.Is target.
func (k Kind) Error() string { return string(k) }

// RetryAdvice says whether repeating the same request can succeed and when.
type RetryAdvice struct {
	// Retryable is true when the same request may succeed later.
	Retryable bool
	// After is the shortest sensible wait before retrying.
	After time.Duration
	// AtBeijingMidnight is true when the limit resets at 00:00 Beijing
	// time, which is when a retry can first succeed.
	AtBeijingMidnight bool
}

// Soon reports whether an automatic retry within one call is worthwhile.
func (r RetryAdvice) Soon() bool {
	return r.Retryable && !r.AtBeijingMidnight && r.After <= 5*time.Second
}

// At returns the earliest time a retry can help, given the time the error
// was received. It returns the zero time when retrying cannot help.
func (r RetryAdvice) At(received time.Time) time.Time {
	switch {
	case !r.Retryable:
		return time.Time{}
	case r.AtBeijingMidnight:
		return NextBeijingMidnight(received)
	default:
		return received.Add(r.After)
	}
}

// Beijing is China Standard Time (UTC+8, no daylight saving). A fixed zone
// avoids depending on the host's time zone database.
var Beijing = time.FixedZone("CST", 8*60*60)

// NextBeijingMidnight returns the next 00:00 in Beijing after t.
func NextBeijingMidnight(t time.Time) time.Time {
	b := t.In(Beijing)
	return time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, Beijing)
}

// StatusInfo is what this package knows of one QCC status code: the
// vendor's message, what it means, how to classify it and what to do.
type StatusInfo struct {
	Code int
	// Message is the vendor document's text for the code.
	Message string
	// Meaning is an English rendering of Message.
	Meaning string
	Kind    Kind
	Retry   RetryAdvice
	// Action is one sentence an AI agent or an operator can act on.
	Action string
	// Operator is true when only whoever runs the server can fix it
	// (credentials, balance, API subscription); the agent should say so.
	Operator bool
	// Pause is how a guard in front of the client holds back further
	// calls after QCC answered this code, so that the refusal is not
	// provoked again.
	Pause Pause
}

// PauseScope says which calls a status code pauses.
type PauseScope string

// The pause scopes.
const (
	PauseNone  PauseScope = ""      // nothing pauses
	PauseQuery PauseScope = "query" // only the same query (method and arguments)
	PauseAll   PauseScope = "all"   // every call that would reach QCC
)

// Pause is the pause a status code calls for. Exactly one of For,
// UntilBeijingMidnight and Configured says how long, unless Scope is
// PauseNone.
type Pause struct {
	Scope PauseScope
	// For is a fixed length, counted from QCC's answer.
	For time.Duration
	// UntilBeijingMidnight pauses until the next 00:00 Beijing time, when
	// QCC's daily limits reset.
	UntilBeijingMidnight bool
	// Configured pauses for a length the operator sets (the guard's
	// credential cooldown): only the operator can lift the cause, and a
	// fixed guess would be either too short to protect the key or too long
	// once it is fixed.
	Configured bool
}

// Until returns when a pause that started at since ends; configured is
// the operator's length for a Configured pause. It returns the zero time
// when nothing pauses (including a Configured pause with configured <= 0).
func (p Pause) Until(since time.Time, configured time.Duration) time.Time {
	switch {
	case p.Scope == PauseNone:
		return time.Time{}
	case p.UntilBeijingMidnight:
		return NextBeijingMidnight(since)
	case p.Configured:
		if configured <= 0 {
			return time.Time{}
		}
		return since.Add(configured)
	case p.For > 0:
		return since.Add(p.For)
	}
	return time.Time{}
}

// String describes the pause for tables, e.g. "this query for 2h0m0s".
func (p Pause) String() string {
	what := "all calls"
	if p.Scope == PauseQuery {
		what = "this query"
	}
	switch {
	case p.Scope == PauseNone:
		return "none"
	case p.UntilBeijingMidnight:
		return what + " until 00:00 Beijing time"
	case p.Configured:
		return what + " for the credential cooldown (--credential-cooldown)"
	}
	return what + " for " + formatHours(p.For)
}

func formatHours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return d.String()
}

var (
	never    = RetryAdvice{}
	soon     = RetryAdvice{Retryable: true, After: 2 * time.Second}
	minute   = RetryAdvice{Retryable: true, After: time.Minute}
	twoHours = RetryAdvice{Retryable: true, After: 2 * time.Hour}
	midnight = RetryAdvice{Retryable: true, AtBeijingMidnight: true}

	// The pauses. QCC's 110 names the 2 hours itself; its daily limits
	// reset at 00:00 Beijing. A rejected key, account or block lasts until
	// the operator acts, so the guard pauses for the operator's cooldown,
	// which keeps a stream of agent retries from reaching QCC while still
	// noticing, soon after, that the operator fixed it.
	pauseQuery2h = Pause{Scope: PauseQuery, For: 2 * time.Hour}
	pauseDay     = Pause{Scope: PauseAll, UntilBeijingMidnight: true}
	pauseKey     = Pause{Scope: PauseAll, Configured: true}
)

// statusTable holds every status code of section 7 of the vendor document
// ("企业证书查询" V2.0). It is the single source for error translation,
// the MCP server's status-code resource and the README's table.
var statusTable = map[int]StatusInfo{
	200: {Message: "【有效请求】查询成功", Meaning: "success", Action: "No action needed."},
	201: {Message: "【有效请求】查询无结果", Meaning: "the query found nothing", Kind: KindNoResult, Retry: never,
		Action: "Nothing matches: check the company's full registered name, or search by keyword (not an exact name match)."},
	202: {Message: "【有效请求】查询参数错误，请检查", Meaning: "invalid query parameters", Kind: KindInvalidArgument, Retry: never,
		Action: "Fix the arguments: a company name or keyword of at least 2 characters, a page size of 1 to 20, a page number of 1 or more, and a certificate category that is a QCC code such as C_9, or none."},
	205: {Message: "【有效请求】等待处理中", Meaning: "the answer is still being prepared", Kind: KindPending, Retry: soon,
		Action: "QCC is still preparing this answer: repeat the same call in a few seconds."},
	207: {Message: "【有效请求】请求数据的条目数超过上限（5000）", Meaning: "more than 5000 records match", Kind: KindInvalidArgument, Retry: never,
		Action: "The query matches too many records: use the full registered company name with an exact match, or filter by certificate category."},
	208: {Message: "【有效请求】此接口不支持此公司类型查询", Meaning: "this API does not support this type of company", Kind: KindUnsupported, Retry: never,
		Action: "QCC holds no certificate data for this type of entity; do not retry, report that the data is not available."},
	209: {Message: "【有效请求】企业数量超过上限", Meaning: "too many companies match", Kind: KindInvalidArgument, Retry: never,
		Action: "The name matches too many companies: give the full registered company name with an exact match."},
	213: {Message: "【有效请求】参数长度不能小于 2", Meaning: "a parameter is shorter than 2 characters", Kind: KindInvalidArgument, Retry: never,
		Action: "The search text needs at least 2 characters: give a longer company name."},
	215: {Message: "【有效请求】不支持的查询关键字", Meaning: "unsupported search keyword", Kind: KindInvalidArgument, Retry: never,
		Action: "QCC does not accept this search text: use the company's registered Chinese name or its unified social credit code."},
	218: {Message: "【有效请求】该企业暂不支持空壳扫描", Meaning: "shell-company scan not supported for this company", Kind: KindUnsupported, Retry: never,
		Action: "QCC does not support this check for this company; do not retry."},
	219: {Message: "【有效请求】该企业暂不支持准入尽调", Meaning: "admission due diligence not supported for this company", Kind: KindUnsupported, Retry: never,
		Action: "QCC does not support this check for this company; do not retry."},
	105: {Message: "【有效请求】接口已下线停用", Meaning: "the API has been taken offline", Kind: KindDisabled, Retry: never, Operator: true,
		Action: "QCC has taken this API offline: tell the operator; retrying will not help."},
	110: {Message: "【有效请求】当前相同查询连续出错，请等 2 小时后重试", Meaning: "the same query failed repeatedly; wait 2 hours", Kind: KindThrottled, Retry: twoHours, Pause: pauseQuery2h,
		Action: "QCC blocks this exact query for 2 hours after repeated errors: do not repeat it before then; other queries still work."},
	101: {Message: "【无效请求】当前的 KEY 无效或者还未生效中", Meaning: "the app key is invalid or not active yet", Kind: KindAuth, Retry: never, Pause: pauseKey, Operator: true,
		Action: "The QCC app key is invalid or not active yet: the operator must check the server's QCC app key."},
	102: {Message: "【无效请求】当前 KEY 已欠费", Meaning: "the key's account is in arrears", Kind: KindBilling, Retry: never, Pause: pauseKey, Operator: true,
		Action: "The QCC account is in arrears: tell the operator to top it up; retrying will not help."},
	103: {Message: "【无效请求】当前 KEY 被暂停使用", Meaning: "the key is suspended", Kind: KindBlocked, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC has suspended this key: tell the operator to contact QCC; stop calling."},
	104: {Message: "【无效请求】请求 KEY 异常，请联系管理员", Meaning: "the key is in an abnormal state", Kind: KindBlocked, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC reports the key as abnormal: tell the operator to contact QCC support; stop calling."},
	106: {Message: "【无效请求】非法请求过多，请联系管理员", Meaning: "too many illegal requests", Kind: KindBlocked, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC has blocked the key for too many invalid requests: stop calling and tell the operator to contact QCC."},
	107: {Message: "【无效请求】被禁止的 IP 或者签名错误", Meaning: "forbidden IP address or wrong signature", Kind: KindAuth, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC rejected the signature or this server's IP: the operator must check the server's QCC secret key and the IP whitelist in the QCC console."},
	108: {Message: "【无效请求】异常请求过多，请联系管理员", Meaning: "too many abnormal requests", Kind: KindBlocked, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC has blocked the key for too many abnormal requests: stop calling and tell the operator to contact QCC."},
	109: {Message: "【无效请求】请求超过每日系统限制", Meaning: "the daily system limit is exceeded", Kind: KindQuotaExhausted, Retry: midnight, Pause: pauseDay,
		Action: "The daily QCC limit is used up: retry after 00:00 Beijing time."},
	111: {Message: "【无效请求】接口权限未开通，请联系管理员", Meaning: "the API is not enabled for this account", Kind: KindDisabled, Retry: never, Operator: true,
		Action: "This QCC account has no access to the certificate API: the operator must enable it in the QCC console."},
	112: {Message: "【无效请求】您的账号剩余使用量已不足或已过期", Meaning: "the account's remaining usage is used up or expired", Kind: KindBilling, Retry: never, Pause: pauseKey, Operator: true,
		Action: "The QCC account's balance is used up or expired: tell the operator to top it up; retrying will not help."},
	113: {Message: "【无效请求】当前接口已被删除，请重新申请", Meaning: "the API was deleted from the account", Kind: KindDisabled, Retry: never, Operator: true,
		Action: "The certificate API was removed from this QCC account: the operator must apply for it again."},
	114: {Message: "【无效请求】当前接口已被禁用，请联系管理员", Meaning: "the API is disabled for this account", Kind: KindDisabled, Retry: never, Operator: true,
		Action: "The certificate API is disabled for this QCC account: tell the operator to contact QCC."},
	115: {Message: "【无效请求】身份验证错误或者已过期", Meaning: "authentication failed or expired", Kind: KindAuth, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC rejected the Token or Timespan: the operator must check the server's clock (a Timespan minutes off fails) and its QCC secret key."},
	116: {Message: "【无效请求】请求超过每日调用总量限制", Meaning: "the daily call total is exceeded", Kind: KindQuotaExhausted, Retry: midnight, Pause: pauseDay,
		Action: "The daily QCC call quota is used up: retry after 00:00 Beijing time."},
	117: {Message: "【无效请求】当前不支持的请求参数调用量过多", Meaning: "too many calls with unsupported parameters", Kind: KindThrottled, Retry: never,
		Action: "QCC refuses calls with these parameters after too many unsupported ones: change the arguments and do not repeat this call."},
	118: {Message: "【无效请求】当前接口不支持此方式的调用", Meaning: "the API does not support this way of calling", Kind: KindUnsupported, Retry: never, Operator: true,
		Action: "QCC does not accept calls made this way: the operator must check the server's QCC API address; retrying will not help."},
	119: {Message: "【无效请求】您的帐号出现异常，请联系管理员", Meaning: "the account is in an abnormal state", Kind: KindBlocked, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC reports the account as abnormal: tell the operator to contact QCC; stop calling."},
	120: {Message: "【无效请求】系统流量异常，请稍后再试", Meaning: "abnormal system traffic; try later", Kind: KindUnavailable, Retry: minute,
		Action: "QCC is overloaded: wait a minute before trying again."},
	121: {Message: "【无效请求】数据不能出境", Meaning: "the data may not leave China", Kind: KindBlocked, Retry: never, Pause: pauseKey, Operator: true,
		Action: "QCC will not send this data outside mainland China: the operator must run the server from a mainland Chinese network."},
	199: {Message: "【无效请求】系统未知错误，请联系技术客服", Meaning: "unknown system error", Kind: KindUpstreamFailure, Retry: minute,
		Action: "QCC failed internally: try again in a minute; if it persists, the operator should contact QCC support."},
	203: {Message: "【无效请求】系统查询有异常，请联系技术人员", Meaning: "the query failed inside QCC", Kind: KindUpstreamFailure, Retry: minute,
		Action: "QCC's query failed internally: try again in a minute; if it persists, the operator should contact QCC support."},
	214: {Message: "【无效请求】您还未购买过该接口，请先购买", Meaning: "the API has not been purchased", Kind: KindBilling, Retry: never, Operator: true,
		Action: "This QCC account has not bought the certificate API: the operator must purchase it."},
	223: {Message: "【无效请求】当前接口的计费方式不支持此查询参数", Meaning: "the billing plan does not support this parameter", Kind: KindBilling, Retry: never, Operator: true,
		Action: "The QCC billing plan does not allow this query parameter: drop the certificate category filter or ask the operator to change the plan."},
}

func init() {
	for code, info := range statusTable {
		info.Code = code
		statusTable[code] = info
	}
}

// LookupStatus returns what is known of a QCC status code. For a code the
// vendor document does not list it returns kind unknown and false.
func LookupStatus(code int) (StatusInfo, bool) {
	info, ok := statusTable[code]
	if !ok {
		return StatusInfo{Code: code, Kind: KindUnknown, Meaning: "a status code the QCC document does not list",
			Action: "QCC answered with an undocumented status: do not retry blindly; the operator may ask QCC support what it means."}, false
	}
	return info, true
}

// StatusCodes returns every documented status code in ascending order.
func StatusCodes() []StatusInfo {
	out := make([]StatusInfo, 0, len(statusTable))
	for _, info := range statusTable {
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}
