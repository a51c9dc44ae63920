package runtime

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// errorBody is the JSON of an error response (RFC 6749 §5.2).
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	ErrorURI         string `json:"error_uri,omitempty"`
}

// writeJSON writes v as a JSON response that no cache may keep (RFC 6749
// §5.1: token responses hold credentials; the other OAuth endpoints answer
// about them).
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// The engine's own values marshal; an extension grant's Extra
		// might not.
		s.logger.Error("oauthgen: encode response", "error", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error","error_description":"internal server error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// setRetryAfter sends an error's RetryAfter (RFC 9110 §10.2.3), in
// whole seconds, rounded up.
func setRetryAfter(w http.ResponseWriter, e *Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
}

// writeError writes e as an RFC 6749 §5.2 error response. An
// invalid_client answered with 401 carries the Basic challenge §5.2 asks
// for.
func (s *Server) writeError(w http.ResponseWriter, e *Error) {
	e = e.public()
	status := e.HTTPStatus()
	if e.Code == InvalidClient && status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+s.realm+`"`)
	}
	setRetryAfter(w, e)
	s.writeJSON(w, status, errorBody{e.Code, e.Description, e.URI})
}
