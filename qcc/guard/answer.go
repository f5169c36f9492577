package guard

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// An answer is a *qcc.SearchResult or a *qcc.CertificationDetail, held as
// any so that one code path serves both methods. These helpers are the
// only places that look inside one.

// copyAnswer returns a copy of v marked with state. Cached answers are
// shared between callers, so every caller gets its own copy; the slices are
// copied too because their elements are values.
func copyAnswer(v any, state CacheState) any {
	switch a := v.(type) {
	case *qcc.SearchResult:
		c := *a
		c.Items = slices.Clone(a.Items)
		c.Cache = state
		return &c
	case *qcc.CertificationDetail:
		c := *a
		c.Fields = slices.Clone(a.Fields)
		c.Cache = state
		return &c
	}
	return v
}

// markAnswer marks v with state, in place: for an answer no one else
// holds.
func markAnswer(v any, state CacheState) any {
	switch a := v.(type) {
	case *qcc.SearchResult:
		a.Cache = state
	case *qcc.CertificationDetail:
		a.Cache = state
	}
	return v
}

// cacheable reports whether v may be cached: a successful answer, or a
// search that found nothing (201), which QCC bills and answers the same
// way again. Everything else, errors above all, is asked again.
func cacheable(v any) bool {
	switch a := v.(type) {
	case *qcc.SearchResult:
		return a != nil && (a.Status == 200 || a.Status == 201)
	case *qcc.CertificationDetail:
		return a != nil && (a.Status == 200 || a.Status == 201)
	}
	return false
}

// fetchedAt returns when QCC sent v.
func fetchedAt(v any) time.Time {
	switch a := v.(type) {
	case *qcc.SearchResult:
		return a.FetchedAt
	case *qcc.CertificationDetail:
		return a.FetchedAt
	}
	return time.Time{}
}

// outcome names the result of one upstream request for Usage: QCC's status
// code, "http_" and the HTTP status for a non-2xx answer, or the failure's
// kind ("network", "timeout", ...).
func outcome(v any, err error) string {
	if err == nil {
		switch a := v.(type) {
		case *qcc.SearchResult:
			return statusText(a.Status)
		case *qcc.CertificationDetail:
			return statusText(a.Status)
		}
		return "ok"
	}
	var e *qcc.Error
	switch {
	case !errors.As(err, &e):
		return "error"
	case e.Code != 0:
		return strconv.Itoa(e.Code)
	case e.HTTPStatus != 0:
		return "http_" + strconv.Itoa(e.HTTPStatus)
	case e.Kind != "":
		return string(e.Kind)
	}
	return "error"
}

// statusText is strconv.Itoa(status), without an allocation for the
// statuses of an answer.
func statusText(status int) string {
	switch status {
	case 200:
		return "200"
	case 201:
		return "201"
	}
	return strconv.Itoa(status)
}

// recordVersion is the layout of stored records; a record of another
// version is ignored and purged, which costs one upstream call at worst.
const recordVersion = 1

// record is how an answer is stored in the cache file. The qcc types have
// no JSON tags, so their fields are stored under their Go names; a field
// renamed in package qcc decodes as empty, and recordVersion must change
// with such a rename.
type record struct {
	Version   int                      `json:"v"`
	FetchedAt time.Time                `json:"fetched_at"`
	Expires   time.Time                `json:"expires_at"`
	Search    *qcc.SearchResult        `json:"search,omitempty"`
	Detail    *qcc.CertificationDetail `json:"detail,omitempty"`
}

// encodeEntry returns e as stored in the cache file.
func encodeEntry(e *entry) ([]byte, error) {
	r := record{Version: recordVersion, FetchedAt: e.fetchedAt, Expires: e.expires}
	switch a := e.val.(type) {
	case *qcc.SearchResult:
		r.Search = copyAnswer(a, "").(*qcc.SearchResult)
	case *qcc.CertificationDetail:
		r.Detail = copyAnswer(a, "").(*qcc.CertificationDetail)
	default:
		return nil, errors.New("guard: not an answer")
	}
	return json.Marshal(r)
}

// inBeijing restores the zone of a date that the client made in Beijing
// time: JSON keeps only its offset, and the zone's name would otherwise
// read "+0800" instead of "CST" after a restart.
func inBeijing(t time.Time) time.Time {
	if name, offset := t.Zone(); name == "" && offset == 8*60*60 {
		return t.In(qcc.Beijing)
	}
	return t
}

// decodeEntry reads an entry stored under key.
func decodeEntry(key string, data []byte) (*entry, error) {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if r.Version != recordVersion {
		return nil, errors.New("guard: stored record of another version")
	}
	e := &entry{key: key, fetchedAt: r.FetchedAt, expires: r.Expires, size: int64(len(data) + len(key))}
	switch {
	case r.Search != nil:
		for i := range r.Search.Items {
			it := &r.Search.Items[i]
			it.StartDate, it.EndDate = inBeijing(it.StartDate), inBeijing(it.EndDate)
		}
		e.val = r.Search
	case r.Detail != nil:
		e.val = r.Detail
	default:
		return nil, errors.New("guard: stored record holds no answer")
	}
	return e, nil
}
