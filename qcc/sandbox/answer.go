package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qcc-mcp/qcc-mcp/qcc"
)

// envelope is QCC's answer: Paging and Result (when there are any), then
// Status as a string, Message and OrderNumber, in the document's order.
type envelope struct {
	Paging      *paging `json:"Paging,omitempty"`
	Result      any     `json:"Result,omitempty"`
	Status      string  `json:"Status"`
	Message     string  `json:"Message"`
	OrderNumber *string `json:"OrderNumber"`
}

type paging struct {
	PageSize     int `json:"PageSize"`
	PageIndex    int `json:"PageIndex"`
	TotalRecords int `json:"TotalRecords"`
}

type detailResult struct {
	ID     string          `json:"Id"`
	Data   json.RawMessage `json:"Data"`
	Schema json.RawMessage `json:"Schema"` // always null, as in the document
}

func (s *Sandbox) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := strings.TrimSpace(q.Get("searchKey"))
	if f, ok := s.trigger(key); ok && s.answerFault(w, r, qcc.MethodSearch, f) {
		return
	}
	if key == "" {
		s.writeStatus(w, qcc.MethodSearch, 202)
		return
	}
	if utf8.RuneCountInString(key) < qcc.MinSearchKeyLength {
		s.writeStatus(w, qcc.MethodSearch, 213)
		return
	}
	pageSize, ok1 := intParam(q.Get("pageSize"), qcc.DefaultPageSize)
	pageIndex, ok2 := intParam(q.Get("pageIndex"), 1)
	exact, ok3 := boolParam(q.Get("isExactlySame"), true)
	if !ok1 || !ok2 || !ok3 || pageSize < 1 || pageSize > qcc.MaxPageSize || pageIndex < 1 {
		s.writeStatus(w, qcc.MethodSearch, 202)
		return
	}
	items := s.data.search(key, exact, strings.TrimSpace(q.Get("certCategory")))
	pages := (len(items) + pageSize - 1) / pageSize
	if pageIndex > pages {
		s.writeStatus(w, qcc.MethodSearch, 201)
		return
	}
	start := (pageIndex - 1) * pageSize
	page := items[start:min(start+pageSize, len(items))]
	s.writeEnvelope(w, envelope{
		Paging: &paging{PageSize: pageSize, PageIndex: pageIndex, TotalRecords: len(items)},
		Result: page,
	})
}

func (s *Sandbox) detail(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("certId"))
	if f, ok := s.trigger(id); ok && s.answerFault(w, r, qcc.MethodDetail, f) {
		return
	}
	if id == "" {
		s.writeStatus(w, qcc.MethodDetail, 202)
		return
	}
	cert, ok := s.data.byID[id]
	if !ok {
		s.writeStatus(w, qcc.MethodDetail, 201)
		return
	}
	s.writeEnvelope(w, envelope{Result: detailResult{ID: id, Data: cert.Detail}})
}

// intParam parses an optional integer parameter.
func intParam(v string, def int) (int, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// boolParam parses an optional "true"/"false" parameter, ignoring case.
func boolParam(v string, def bool) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return def, true
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// The trigger prefixes and names matched on searchKey and certId.
const (
	triggerStatus    = "sandbox-status-"
	triggerHTTP      = "sandbox-http-"
	triggerSlow      = "sandbox-slow-"
	triggerMalformed = "sandbox-malformed"
	triggerTruncated = "sandbox-truncated"
	triggerLarge     = "sandbox-large"
)

// trigger returns the fault a searchKey or certId asks for, if it is one of
// the documented triggers.
func (s *Sandbox) trigger(v string) (Fault, bool) {
	switch {
	case v == triggerMalformed:
		return Fault{Malformed: true}, true
	case v == triggerTruncated:
		return Fault{Truncated: true}, true
	case v == triggerLarge:
		return Fault{Large: true}, true
	case strings.HasPrefix(v, triggerStatus):
		code, err := strconv.Atoi(v[len(triggerStatus):])
		if err != nil || code == 0 {
			return Fault{}, false
		}
		return Fault{QCCStatus: code}, true
	case strings.HasPrefix(v, triggerHTTP):
		code, err := strconv.Atoi(v[len(triggerHTTP):])
		if err != nil || code < 200 || code > 599 {
			return Fault{}, false
		}
		return Fault{HTTPStatus: code}, true
	case strings.HasPrefix(v, triggerSlow):
		d, err := time.ParseDuration(v[len(triggerSlow):])
		if err != nil {
			return Fault{}, false
		}
		// The fault only delays; the normal handling that follows answers
		// 201 because no company or certificate has such a name.
		return Fault{Delay: min(max(d, 0), s.slowCap)}, true
	}
	return Fault{}, false
}

// answerFault applies f and reports whether the request is finished, either
// answered or abandoned because its context ended during the delay.
func (s *Sandbox) answerFault(w http.ResponseWriter, r *http.Request, method string, f Fault) bool {
	if f.Delay > 0 && !sleep(r.Context(), f.Delay) {
		return true
	}
	switch {
	case f.HTTPStatus != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeGatewayError(w, f.HTTPStatus)
	case f.QCCStatus != 0:
		s.writeStatus(w, method, f.QCCStatus)
	case f.Malformed:
		writeMalformed(w)
	case f.Truncated:
		s.writeTruncated(w, method)
	case f.Large:
		s.writeLarge(w, method)
	default:
		return false
	}
	return true
}

// sleep waits for d and reports whether it did, false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// writeStatus answers with a QCC status. 200 is an empty success; any other
// code is an answer without Paging and Result and with a null OrderNumber.
func (s *Sandbox) writeStatus(w http.ResponseWriter, method string, code int) {
	if code == 200 {
		if method == qcc.MethodSearch {
			s.writeEnvelope(w, envelope{Paging: &paging{PageSize: qcc.DefaultPageSize, PageIndex: 1}, Result: []searchItem{}})
		} else {
			s.writeEnvelope(w, envelope{Result: detailResult{ID: "", Data: json.RawMessage("{}")}})
		}
		return
	}
	writeJSON(w, marshal(envelope{Status: strconv.Itoa(code), Message: message(code)}))
}

// writeEnvelope answers a success, completing env with status 200, its
// message and a fresh order number.
func (s *Sandbox) writeEnvelope(w http.ResponseWriter, env envelope) {
	writeJSON(w, marshal(s.success(env)))
}

func (s *Sandbox) success(env envelope) envelope {
	order := s.orderNumber()
	env.Status = "200"
	env.Message = message(200)
	env.OrderNumber = &order
	return env
}

// orderNumber returns a QCC-like order number: CERT, the Beijing time and
// a sequence number unique within the Sandbox.
func (s *Sandbox) orderNumber() string {
	return fmt.Sprintf("CERT%s%06d", s.now().In(qcc.Beijing).Format("20060102150405"), s.orderSeq.Add(1)%1_000_000)
}

// message returns the vendor document's message for a status code.
func message(code int) string {
	if info, ok := qcc.LookupStatus(code); ok {
		return info.Message
	}
	return fmt.Sprintf("sandbox: status %d is not in the vendor document", code)
}

func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("sandbox: encoding an answer: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

const jsonContentType = "application/json; charset=utf-8"

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body) // an error means the client has gone
}

// writeGatewayError answers like a reverse proxy in front of QCC would.
func writeGatewayError(w http.ResponseWriter, code int) {
	title := strconv.Itoa(code)
	if text := http.StatusText(code); text != "" {
		title += " " + text
	}
	body := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write([]byte(body))
}

func writeMalformed(w http.ResponseWriter) {
	writeJSON(w, []byte(`{"Paging":{"PageSize":10,"PageIndex":1,"TotalRecords":1},"Result":[{"Id":"sandbox-malformed",,"Name":"}],"Status":"200"`+"\n<!-- upstream error -->"))
}

// writeTruncated declares the length of a whole success answer but sends
// only its first half, then ends the response.
func (s *Sandbox) writeTruncated(w http.ResponseWriter, method string) {
	var full []byte
	if method == qcc.MethodSearch {
		items := s.data.search(s.data.Companies[0].Name, true, "")
		full = marshal(s.success(envelope{
			Paging: &paging{PageSize: qcc.DefaultPageSize, PageIndex: 1, TotalRecords: len(items)},
			Result: items,
		}))
	} else {
		cert := &s.data.Companies[0].Certificates[0]
		full = marshal(s.success(envelope{Result: detailResult{ID: cert.Item.ID, Data: cert.Detail}}))
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(full)))
	w.WriteHeader(http.StatusOK)
	w.Write(full[:len(full)/2])
	http.NewResponseController(w).Flush()
	// Returning with fewer bytes than declared makes net/http close the
	// connection and the in-process Transport end the body with
	// io.ErrUnexpectedEOF.
}

// largeAnswerSize is the least size of the sandbox-large answer: above the
// client's 4 MiB cap and above 5 MiB.
const largeAnswerSize = 5<<20 + 256<<10

// writeLarge streams a valid success answer larger than largeAnswerSize,
// without a Content-Length, so a client has to enforce its cap while
// reading.
func (s *Sandbox) writeLarge(w http.ResponseWriter, method string) {
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(http.StatusOK)
	const filler = "超大响应测试"
	const items = qcc.MaxPageSize
	var head, tail []byte
	var chunks int
	if method == qcc.MethodSearch {
		// Each of the 20 items has a long product Name.
		chunks = largeAnswerSize / items / len(filler)
		head = fmt.Appendf(nil, `{"Paging":{"PageSize":%d,"PageIndex":1,"TotalRecords":%d},"Result":[`, items, items)
		tail = marshal(s.success(envelope{}))
	} else {
		chunks = largeAnswerSize / len(filler)
		head = []byte(`{"Result":{"Id":"sandbox-large","Data":{"认证范围/认证覆盖的业务范围":"`)
		tail = append([]byte(`"},"Schema":null},`), marshal(s.success(envelope{}))[1:]...)
	}
	if _, err := w.Write(head); err != nil {
		return
	}
	name := []byte(strings.Repeat(filler, chunks))
	if method == qcc.MethodSearch {
		end := "2030-01-01 00:00:00"
		for i := range items {
			item := marshal(searchItem{
				ID: fmt.Sprintf("%032x%d", i, 1), Name: "", Type: "cnca001", StartDate: "2025-01-02 00:00:00",
				EndDate: &end, No: fmt.Sprintf("2025010501%06d", i), TypeDesc: "强制性产品认证",
			})
			// Put the long name inside the item's empty Name string.
			at := bytes.Index(item, []byte(`"Name":""`)) + len(`"Name":"`)
			var b []byte
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, item[:at]...)
			b = append(b, name...)
			b = append(b, item[at:]...)
			if _, err := w.Write(b); err != nil {
				return
			}
		}
		w.Write([]byte("],"))
		w.Write(tail[1:])
		return
	}
	if _, err := w.Write(name); err != nil {
		return
	}
	w.Write(tail)
}
