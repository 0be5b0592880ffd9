// Package s3fake is an in-memory S3 for unit tests: the few calls package
// s3store makes (HeadBucket, GetObject, PutObject with If-Match and
// If-None-Match, DeleteObject, ListObjectsV2 with prefix, delimiter,
// start-after and continuation), path-style, over an httptest server. It is
// no proof that a real service behaves so: e2e runs against SeaweedFS.
package s3fake

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	buckets map[string]map[string]object
	// Fail, when set, is asked before every request; a status other than 0
	// is answered instead (503 SlowDown, 500, 403 ...).
	Fail func(r *http.Request) int
	// IgnoreConditions makes PUT ignore If-Match and If-None-Match, as a
	// service without conditional writes would.
	IgnoreConditions bool
	requests         map[string]int // by "METHOD kind"
}

type object struct {
	body []byte
	etag string
}

// New starts a fake holding the buckets named, empty.
func New(buckets ...string) *Server {
	s := &Server{buckets: map[string]map[string]object{}, requests: map[string]int{}}
	for _, b := range buckets {
		s.buckets[b] = map[string]object{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Requests is how many requests of kind ("GET object", "GET list",
// "PUT object", "DELETE object", "HEAD bucket") were answered, and "PUT
// refused" how many PUTs a condition refused (412, or 404 for If-Match).
func (s *Server) Requests(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[kind]
}

// ResetRequests zeroes the counts.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = map[string]int{}
}

// Keys is the bucket's keys, sorted.
func (s *Server) Keys(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.buckets[bucket] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Object is the body stored at key, nil when none.
func (s *Server) Object(bucket, key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.buckets[bucket][key]
	if !ok {
		return nil
	}
	return slices.Clone(o.body)
}

// Put stores body at key unconditionally (a hand edit).
func (s *Server) Put(bucket, key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[bucket][key] = object{body: body, etag: etagOf(body)}
}

// Remove deletes key (a hand delete).
func (s *Server) Remove(bucket, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.buckets[bucket], key)
}

func etagOf(body []byte) string {
	sum := md5.Sum(body)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	kind := r.Method + " object"
	switch {
	case key == "" && r.Method == http.MethodHead:
		kind = "HEAD bucket"
	case key == "" && r.Method == http.MethodGet:
		kind = "GET list"
	}
	if s.Fail != nil {
		if code := s.Fail(r); code != 0 {
			writeError(w, code, map[int]string{503: "SlowDown", 500: "InternalError", 403: "AccessDenied", 429: "SlowDown"}[code])
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[kind]++
	objs, ok := s.buckets[bucket]
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchBucket")
		return
	}
	switch kind {
	case "HEAD bucket":
		w.WriteHeader(http.StatusOK)
	case "GET list":
		s.list(w, r, bucket, objs)
	case "GET object":
		o, ok := objs[key]
		if !ok {
			writeError(w, http.StatusNotFound, "NoSuchKey")
			return
		}
		w.Header().Set("ETag", o.etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(o.body)))
		w.Write(o.body)
	case "PUT object":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "IncompleteBody")
			return
		}
		old, exists := objs[key]
		if !s.IgnoreConditions {
			if r.Header.Get("If-None-Match") == "*" && exists {
				s.requests["PUT refused"]++
				writeError(w, http.StatusPreconditionFailed, "PreconditionFailed")
				return
			}
			if m := r.Header.Get("If-Match"); m != "" {
				if !exists {
					s.requests["PUT refused"]++
					writeError(w, http.StatusNotFound, "NoSuchKey")
					return
				}
				if m != old.etag {
					s.requests["PUT refused"]++
					writeError(w, http.StatusPreconditionFailed, "PreconditionFailed")
					return
				}
			}
		}
		o := object{body: body, etag: etagOf(body)}
		objs[key] = o
		w.Header().Set("ETag", o.etag)
		w.WriteHeader(http.StatusOK)
	case "DELETE object":
		delete(objs, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed")
	}
}

type listResult struct {
	XMLName               xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string    `xml:"Name"`
	Prefix                string    `xml:"Prefix"`
	KeyCount              int       `xml:"KeyCount"`
	MaxKeys               int       `xml:"MaxKeys"`
	IsTruncated           bool      `xml:"IsTruncated"`
	Contents              []content `xml:"Contents"`
	CommonPrefixes        []cprefix `xml:"CommonPrefixes"`
	NextContinuationToken string    `xml:"NextContinuationToken,omitempty"`
}

type content struct {
	Key  string `xml:"Key"`
	ETag string `xml:"ETag"`
	Size int    `xml:"Size"`
}

type cprefix struct {
	Prefix string `xml:"Prefix"`
}

// list answers ListObjectsV2; the continuation token is the last key
// returned.
func (s *Server) list(w http.ResponseWriter, r *http.Request, bucket string, objs map[string]object) {
	q := r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	after := q.Get("start-after")
	if t := q.Get("continuation-token"); t != "" {
		after = t
	}
	max := 1000
	if m, err := strconv.Atoi(q.Get("max-keys")); err == nil && m > 0 && m < max {
		max = m
	}
	var keys []string
	for k := range objs {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	res := listResult{Name: bucket, Prefix: prefix, MaxKeys: max}
	seen := map[string]bool{}
	for _, k := range keys {
		if res.KeyCount == max {
			res.IsTruncated = true
			break
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				p := k[:len(prefix)+i+len(delim)]
				if !seen[p] {
					seen[p] = true
					res.CommonPrefixes = append(res.CommonPrefixes, cprefix{p})
					res.KeyCount++
				}
				res.NextContinuationToken = k
				continue
			}
		}
		res.Contents = append(res.Contents, content{Key: k, ETag: objs[k].etag, Size: len(objs[k].body)})
		res.KeyCount++
		res.NextContinuationToken = k
	}
	if !res.IsTruncated {
		res.NextContinuationToken = ""
	}
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprint(w, xml.Header)
	xml.NewEncoder(w).Encode(res)
}

func writeError(w http.ResponseWriter, code int, s3code string) {
	if s3code == "" {
		s3code = http.StatusText(code)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	fmt.Fprintf(w, "%s<Error><Code>%s</Code><Message>%s</Message></Error>", xml.Header, s3code, s3code)
}
