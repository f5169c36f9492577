package qcc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults of a Client made by New.
const (
	// DefaultBaseURL is the API root of QCC Pro. The older root
	// https://api.qichacha.com serves the same methods.
	DefaultBaseURL = "https://pro.qcc.com/api/yj"
	// DefaultTimeout bounds one request, from sending to the last byte read.
	DefaultTimeout = 15 * time.Second
	// DefaultMaxBodyBytes caps the size of an answer. A page of 20
	// certificates or one detail record is a few kilobytes; the cap only
	// guards memory against a broken or hostile upstream.
	DefaultMaxBodyBytes int64 = 4 << 20
)

const (
	userAgent = "qcc-mcp"
	// errorBodyLimit is how much of a non-2xx body is read: only a short
	// snippet of it ends up in the error.
	errorBodyLimit = 16 << 10
	snippetRunes   = 200
	redacted       = "[redacted]"
)

// Client calls QCC's certificate API. It is safe for concurrent use; its
// settings cannot change after New.
type Client struct {
	appKey    string
	secretKey string
	// baseURL has no trailing slash, so a method is joined with one "/".
	baseURL    string
	httpClient *http.Client
	timeout    time.Duration
	clock      func() time.Time
	maxBody    int64
}

// Option configures a Client in New. An option that returns an error makes
// New fail.
type Option func(*Client) error

// New returns a Client for the given app key (QCC's "key") and secret key.
// Both are trimmed of surrounding white space, which typically comes from
// environment files, and must not be empty.
//
// Errors from New never contain the secret key.
func New(appKey, secretKey string, opts ...Option) (*Client, error) {
	appKey, secretKey = strings.TrimSpace(appKey), strings.TrimSpace(secretKey)
	if appKey == "" {
		return nil, errors.New("qcc: the app key is empty")
	}
	if secretKey == "" {
		return nil, errors.New("qcc: the secret key is empty")
	}
	c := &Client{
		appKey:     appKey,
		secretKey:  secretKey,
		baseURL:    DefaultBaseURL,
		httpClient: &http.Client{},
		timeout:    DefaultTimeout,
		clock:      time.Now,
		maxBody:    DefaultMaxBodyBytes,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(c); err != nil {
			// Options only see their own argument, but an operator may paste
			// the secret into the wrong setting; never echo it.
			if msg, clean := err.Error(), newRedaction([]string{secretKey, redacted}).Replace(err.Error()); clean != msg {
				return nil, errors.New(clean)
			}
			return nil, err
		}
	}
	// A redirect would carry the Token and Timespan headers to wherever it
	// points (Go strips only Authorization and cookies), where they could
	// be replayed while the Timespan is fresh. QCC's API does not redirect:
	// a 3xx is reported as an HTTP status error instead of followed.
	hc := *c.httpClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.httpClient = &hc
	remember(appKey, secretKey)
	return c, nil
}

// WithBaseURL sets the API root, e.g. "https://pro.qcc.com/api/yj" (the
// default) or "https://api.qichacha.com". A method's path is appended as
// base + "/" + method. The URL must be absolute http or https, without user
// information, query or fragment.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		base, err := parseBaseURL(raw)
		if err != nil {
			return err
		}
		c.baseURL = base
		return nil
	}
}

// WithHTTPClient sets the HTTP client, e.g. one with a proxy or custom TLS
// settings. Per-request timeouts come from WithTimeout, not from it.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("qcc: the HTTP client is nil")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each request, including reading the answer. It must
// be positive; the default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("qcc: the timeout must be positive, got %s", d)
		}
		c.timeout = d
		return nil
	}
}

// WithClock sets the source of the current time, used for the Timespan
// header, FetchedAt and retry times. Tests use it to pin the signature.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return errors.New("qcc: the clock is nil")
		}
		c.clock = now
		return nil
	}
}

// WithMaxBodyBytes caps the size of an answer; a larger one fails with
// KindResponseTooLarge. It must be positive; the default is
// DefaultMaxBodyBytes.
func WithMaxBodyBytes(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("qcc: the body size cap must be positive, got %d", n)
		}
		c.maxBody = n
		return nil
	}
}

// parseBaseURL checks an API root and returns it without a trailing slash.
// Its errors do not echo the URL: an operator might have put a key in it.
func parseBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error repeats the whole URL
		}
		return "", fmt.Errorf("qcc: the base URL is malformed: %v", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("qcc: the base URL must start with http:// or https://")
	case u.Opaque != "" || u.Host == "":
		return "", errors.New("qcc: the base URL has no host")
	case u.User != nil:
		return "", errors.New("qcc: the base URL must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		return "", errors.New("qcc: the base URL must not have a query; the client adds key and the method's parameters")
	case strings.Contains(raw, "#"):
		return "", errors.New("qcc: the base URL must not have a fragment")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// String describes the client without its secrets, so that logging a
// Client by mistake leaks nothing.
func (c *Client) String() string {
	return fmt.Sprintf("qcc.Client{baseURL: %q, appKey: %q, timeout: %s}", c.baseURL, maskKey(c.appKey), c.timeout)
}

// GoString is String, so that %#v does not print the secret key either.
func (c *Client) GoString() string { return c.String() }

func (c *Client) now() time.Time { return c.clock() }

// SearchCertification lists the certificates of a company
// (ECICertification/SearchCertification). QCC's status 201 ("no result") is
// a result with no Items, not an error.
//
// The arguments are checked before anything is sent: a SearchKey shorter
// than 2 characters, a PageSize outside 0..20 or a negative PageIndex fail
// with KindInvalidArgument. Every other failure is an *Error too.
func (c *Client) SearchCertification(ctx context.Context, p SearchParams) (*SearchResult, error) {
	searchKey := strings.TrimSpace(p.SearchKey)
	if err := CheckSearch(p, c.now()); err != nil {
		return nil, err
	}
	// The query as url.Values.Encode writes it, keys in sorted order,
	// without building the map.
	var buf [256]byte
	q := buf[:0]
	if cat := strings.TrimSpace(p.CertCategory); cat != "" {
		q = append(q, "certCategory="...)
		q = appendQueryEscape(q, cat)
		q = append(q, '&')
	}
	// Always sent, so the request says what it means even if QCC's
	// default changes.
	q = append(q, "isExactlySame="...)
	q = strconv.AppendBool(q, !p.Fuzzy)
	if p.PageIndex != 0 {
		q = append(q, "&pageIndex="...)
		q = strconv.AppendInt(q, int64(p.PageIndex), 10)
	}
	if p.PageSize != 0 {
		q = append(q, "&pageSize="...)
		q = strconv.AppendInt(q, int64(p.PageSize), 10)
	}
	q = append(q, "&searchKey="...)
	q = appendQueryEscape(q, searchKey)

	x, err := c.get(ctx, MethodSearch, q)
	if err != nil {
		return nil, err
	}
	res := &SearchResult{
		Items:       []Certification{},
		Paging:      x.env.Paging,
		OrderNumber: x.env.OrderNumber,
		Status:      x.env.Status,
		Message:     x.env.Message,
		FetchedAt:   x.received,
	}
	switch x.env.Status {
	case 200:
		items := x.items // decoded with the envelope, in one pass
		if items == nil {
			if items, err = decodeCertifications(x.env.Result); err != nil {
				return nil, x.malformed(err)
			}
		}
		res.Items = items
	case 201:
		// No result: keep the empty list whatever Result holds.
	default:
		return nil, x.statusError()
	}
	return res, nil
}

// GetCertificationDetailByID returns one certificate's detail record
// (ECICertification/GetCertificationDetailById). certID is the ID of a
// search result. Unlike a search, QCC's status 201 is an error here, of
// KindNoResult: no certificate has that ID.
func (c *Client) GetCertificationDetailByID(ctx context.Context, certID string) (*CertificationDetail, error) {
	certID = strings.TrimSpace(certID)
	if certID == "" {
		return nil, invalidArgument(MethodDetail, "the certificate id is empty", ReasonCertIDEmpty, c.now())
	}
	var buf [128]byte
	x, err := c.get(ctx, MethodDetail, appendQueryEscape(append(buf[:0], "certId="...), certID))
	if err != nil {
		return nil, err
	}
	switch x.env.Status {
	case 200:
	case 201:
		e := DetailNotFoundError(x.redactor().Replace(x.env.Message), x.received)
		e.URL = x.maskedURL()
		return nil, e
	default:
		return nil, x.statusError()
	}
	id, fields, err := decodeDetail(x.env.Result)
	if err != nil {
		return nil, x.malformed(err)
	}
	return &CertificationDetail{
		ID:          id,
		Fields:      fields,
		OrderNumber: x.env.OrderNumber,
		Status:      x.env.Status,
		Message:     x.env.Message,
		FetchedAt:   x.received,
	}, nil
}

// exchange is one request to QCC: what error messages may show of it and,
// once it succeeded, the decoded envelope.
type exchange struct {
	method string
	// host is the API's host (and port), for messages, and url the
	// request URL with the app key masked; both are made only when a
	// message needs them (see hostName and maskedURL).
	host string
	url  string
	// query is the request's query after the key, as url.Values.Encode
	// writes it.
	query string
	// client and token make the redaction of this exchange's errors, built
	// only when an error needs it (see redactor): a call that succeeds
	// never pays for it.
	client *Client
	token  string
	redact *redaction
	// received is when the answer (or the failure) arrived.
	received time.Time
	env      envelope
	// items are a search answer's certificates when they were decoded
	// with the envelope (see decodeSearch); nil otherwise.
	items []Certification
}

// get sends a signed GET for method and decodes QCC's envelope. It is the
// only place that signs, so the secret and the Token live in one function.
// Every error it returns is an *Error with Method and the masked URL set.
// query is the method's encoded query (without the key).
func (c *Client) get(ctx context.Context, method string, query []byte) (*exchange, error) {
	x := &exchange{method: method, client: c, query: string(query)}
	if err := ctx.Err(); err != nil {
		x.received = c.now()
		return nil, x.canceled(err)
	}

	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var ubuf [512]byte
	u := append(ubuf[:0], c.baseURL...)
	u = append(u, '/')
	u = append(u, method...)
	u = append(u, "?key="...)
	u = appendQueryEscape(u, c.appKey)
	if len(query) > 0 {
		u = append(u, '&')
		u = append(u, query...)
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, string(u), nil)
	if err != nil {
		// Unreachable with a validated base URL and constant method names.
		x.received = c.now()
		e := x.newError(KindInvalidArgument, "the request could not be built", x.safe(err))
		e.Operator = true
		e.Action = ReasonRequestNotBuilt.Action()
		return nil, e
	}
	timespan, token := Sign(c.appKey, c.secretKey, c.now())
	x.token = token
	// As Header.Set does, with the keys already canonical and the four
	// values in one array.
	values := [...]string{token, timespan, "application/json", userAgent}
	req.Header["Token"] = values[0:1:1]
	req.Header["Timespan"] = values[1:2:2]
	req.Header["Accept"] = values[2:3:3]
	req.Header["User-Agent"] = values[3:4:4]

	resp, err := c.httpClient.Do(req)
	if err != nil {
		x.received = c.now()
		return nil, x.transportError(ctx, reqCtx, c.timeout, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
		x.received = c.now()
		return nil, x.httpStatusError(resp, body)
	}

	limit := c.maxBody
	if limit < math.MaxInt64 {
		limit++ // one byte more tells "exactly the cap" from "over it"
	}
	body, err := readAll(&io.LimitedReader{R: resp.Body, N: limit}, resp.ContentLength)
	x.received = c.now()
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) && ctx.Err() == nil && reqCtx.Err() == nil {
			return nil, x.malformed(errors.New("the answer was cut off before its end"))
		}
		return nil, x.transportError(ctx, reqCtx, c.timeout, err)
	}
	if int64(len(body)) > c.maxBody {
		e := x.newError(KindResponseTooLarge,
			fmt.Sprintf("the answer is larger than the cap of %d bytes", c.maxBody), nil)
		e.Action = ReasonTooLarge.Action()
		return nil, e
	}
	var env envelope
	if method == MethodSearch {
		env, x.items, err = decodeSearch(body)
	} else {
		env, err = decodeEnvelope(body)
	}
	if err != nil {
		return nil, x.malformed(err)
	}
	x.env = env
	return x, nil
}

// readAll is io.ReadAll(r) into a buffer of the body's size when its
// length is known (size >= 0) and below r's limit: one allocation instead
// of a growing buffer's several. The announced length sizes the first
// buffer only up to firstBufferMax (QCC's answers are a few KiB): a larger
// one, or a Content-Length that lies, grows it as bytes arrive.
// firstBufferMax bounds the first buffer readAll sizes from an announced
// length.
const firstBufferMax = 256 << 10

func readAll(r *io.LimitedReader, size int64) ([]byte, error) {
	n := int64(512) // io.ReadAll's first buffer
	if size >= 0 && size < r.N {
		n = min(size+1, firstBufferMax) // + 1: reading the end needs room for one byte more
	}
	b := make([]byte, 0, n)
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// appendQueryEscape appends url.QueryEscape(s) to b.
func appendQueryEscape(b []byte, s string) []byte {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

// hostName returns the API's host (and port), for messages.
func (x *exchange) hostName() string {
	if x.host == "" {
		x.host = x.client.host()
	}
	return x.host
}

// maskedURL returns the request URL with the app key masked.
func (x *exchange) maskedURL() string {
	if x.url == "" {
		x.url = x.client.requestURL(x.method, maskKey(x.client.appKey), x.query)
	}
	return x.url
}

// host returns the host (and port) of the base URL.
func (c *Client) host() string {
	if u, err := url.Parse(c.baseURL); err == nil {
		return u.Host
	}
	return "the QCC API"
}

// requestURL joins the base URL, the method and the query; key comes first
// and is passed already escaped (or masked).
func (c *Client) requestURL(method, key, rest string) string {
	u := c.baseURL + "/" + method + "?key=" + key
	if rest != "" {
		u += "&" + rest
	}
	return u
}

// redactor returns the exchange's redaction, built on first use: it
// replaces the secret key and the token (once signed) with a marker and the
// app key with its mask, in raw and URL-escaped forms: upstream error pages
// often echo the request URL. An exchange is used by one goroutine.
func (x *exchange) redactor() *redaction {
	if x.redact == nil {
		x.redact = x.client.redactor(x.token)
	}
	return x.redact
}

// redactor builds the redaction of one request's token.
func (c *Client) redactor(token string) *redaction {
	var pairs []string
	add := func(old, replacement string) {
		if old != "" {
			pairs = append(pairs, old, replacement)
		}
	}
	add(c.secretKey, redacted)
	add(url.QueryEscape(c.secretKey), redacted)
	add(token, redacted)
	add(strings.ToLower(token), redacted)
	mask := maskKey(c.appKey)
	add(c.appKey, mask)
	add(url.QueryEscape(c.appKey), mask)
	return newRedaction(pairs)
}

// maskKey shows just enough of an app key to tell two keys apart.
func maskKey(key string) string {
	r := []rune(key)
	if len(r) < 8 {
		return "***"
	}
	return url.QueryEscape(string(r[:2])) + "***" + url.QueryEscape(string(r[len(r)-2:]))
}

func (x *exchange) newError(kind Kind, msg string, cause error) *Error {
	return &Error{
		Kind: kind, Message: x.redactor().Replace(msg), Method: x.method, URL: x.maskedURL(),
		Received: x.received, Err: cause,
	}
}

// safe returns a cause fit for an *Error: *url.Error is dropped because its
// text holds the full URL with the app key, and anything else that still
// mentions a secret is replaced by its redacted text.
func (x *exchange) safe(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	if msg := err.Error(); x.redactor().Replace(msg) != msg {
		return errors.New(x.redactor().Replace(msg))
	}
	return err
}

// statusError translates a QCC status other than success.
func (x *exchange) statusError() *Error {
	e := StatusError(x.method, x.env.Status, x.redactor().Replace(x.env.Message), x.received)
	e.URL = x.maskedURL()
	return e
}

// malformed reports an answer that is not the documented JSON. It is
// retried like a network failure because the usual cause is a truncated
// body or a proxy's error page, both transient.
func (x *exchange) malformed(cause error) *Error {
	e := x.newError(KindMalformed, "QCC's answer is not the documented JSON", x.safe(cause))
	e.Retry = soon
	e.Action = ReasonMalformed.Action()
	return e
}

// canceled reports that the caller's context ended. It wraps ctx.Err() so
// errors.Is(err, context.Canceled) keeps working for callers.
func (x *exchange) canceled(ctxErr error) *Error {
	e := CanceledError(x.method, ctxErr, x.received)
	e.URL = x.maskedURL()
	return e
}

// transportError classifies a failure to send or to read. caller is the
// caller's context and reqCtx the one carrying the client's own timeout:
// only the latter ending is a timeout of ours. The message names what
// failed and the host (never the key), in words an agent can pass on.
func (x *exchange) transportError(caller, reqCtx context.Context, timeout time.Duration, err error) *Error {
	if cerr := caller.Err(); cerr != nil {
		return x.canceled(cerr)
	}
	var ne net.Error
	switch {
	case reqCtx.Err() != nil:
		e := x.newError(KindTimeout, fmt.Sprintf("QCC (%s) did not answer completely within %s", x.hostName(), timeout), nil)
		return x.timeoutAdvice(e)
	case errors.As(err, &ne) && ne.Timeout():
		return x.timeoutAdvice(x.newError(KindTimeout, fmt.Sprintf("the connection to QCC (%s) timed out", x.hostName()), x.safe(err)))
	default:
		e := x.newError(KindNetwork, networkCause(x.hostName(), err), x.safe(err))
		e.Retry = soon
		e.Action = ReasonNetwork.Action()
		return e
	}
}

// networkCause says in one phrase why host could not be reached: the
// name did not resolve, nothing listened, the TLS handshake failed, the
// connection broke.
func networkCause(host string, err error) string {
	var (
		dnsErr   *net.DNSError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	switch {
	case errors.As(err, &dnsErr):
		why := "no such host"
		if !dnsErr.IsNotFound {
			why = dnsErr.Err
		}
		return fmt.Sprintf("QCC could not be reached: the name %s could not be resolved (DNS: %s)", dnsErr.Name, why)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("QCC could not be reached: the connection to %s was refused (nothing accepts connections there)", host)
	case errors.As(err, &unknown), errors.As(err, &verify) && errors.As(verify.Err, &unknown):
		return fmt.Sprintf("QCC could not be reached: the TLS certificate of %s is not signed by a trusted authority", host)
	case errors.As(err, &hostname):
		return fmt.Sprintf("QCC could not be reached: the TLS certificate of %s is not valid for that name", host)
	case errors.As(err, &invalid):
		return fmt.Sprintf("QCC could not be reached: the TLS certificate of %s is invalid (%s)", host, invalid.Error())
	case errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert):
		return fmt.Sprintf("QCC could not be reached: the TLS handshake with %s failed", host)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("QCC could not be reached: the connection to %s was closed before an answer", host)
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return fmt.Sprintf("QCC could not be reached: there is no network route to %s", host)
	default:
		return fmt.Sprintf("QCC could not be reached at %s", host)
	}
}

func (x *exchange) timeoutAdvice(e *Error) *Error {
	e.Retry = soon
	e.Action = ReasonTimeout.Action()
	return e
}

// httpStatusError reports a non-2xx answer, which comes from QCC's web
// front or a proxy rather than from the API (the API signals errors with
// its Status field and HTTP 200).
func (x *exchange) httpStatusError(resp *http.Response, body []byte) *Error {
	code := resp.StatusCode
	msg := strings.TrimSpace(http.StatusText(code))
	// Short secrets are removed first, from the raw body (see
	// redaction); long ones again after markup is stripped.
	if snip := bodySnippet([]byte(x.redactor().Replace(string(body))), x.redactor().long); snip != "" {
		if msg != "" {
			msg += ": "
		}
		msg += snip
	}
	if msg == "" {
		msg = "no description"
	}
	e := x.newError(KindHTTPStatus, msg, nil)
	e.HTTPStatus = code
	switch {
	case code == http.StatusTooManyRequests:
		e.Retry = retryAfter(resp.Header.Get("Retry-After"), x.received, minute)
		e.Action = ReasonHTTPRateLimited.Action(e.Retry.After)
	case code >= 500:
		// Without Retry-After, a retry may go at once (after the usual
		// backoff of whoever retries).
		e.Retry = retryAfter(resp.Header.Get("Retry-After"), x.received, RetryAdvice{Retryable: true})
		e.Action = ReasonHTTPServer.Action(code)
	case code == http.StatusNotFound:
		e.Operator = true
		e.Action = ReasonHTTPNotFound.Action()
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		e.Operator = true
		e.Action = ReasonHTTPRefused.Action(code)
	default:
		e.Operator = true
		e.Action = ReasonHTTPOther.Action(code)
	}
	return e
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped
// at a day so a bogus header cannot park a caller forever.
func retryAfter(header string, received time.Time, fallback RetryAdvice) RetryAdvice {
	header = strings.TrimSpace(header)
	if header == "" {
		return fallback
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(header, 10, 64); err == nil {
		if secs < 0 {
			return fallback
		}
		d = time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	} else if at, err := http.ParseTime(header); err == nil {
		d = at.Sub(received).Round(time.Second)
	} else {
		return fallback
	}
	d = min(max(d, 0), 24*time.Hour)
	return RetryAdvice{Retryable: true, After: d}
}
