package s3store

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// op is what a call was, for the meaning of a failed precondition.
type op int

const (
	opRead op = iota
	opCreate
	opUpdate
	opDelete
)

// statusOf is the HTTP status of an S3 answer (0 when none came: the request
// did not reach the service) and S3's error code.
func statusOf(err error) (status int, code string) {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	return status, code
}

// storeError turns an S3 answer into storeio's sentinels and retry's mark, so
// the sink's conflict handling and retry.Retryable treat both stores alike:
//   - 412 PreconditionFailed, 409 ConditionalRequestConflict: another writer
//     won; storeio.ErrAlreadyExists for a create (If-None-Match: *), else
//     storeio.ErrConflict;
//   - 404: storeio.ErrNotFound (an update's object is gone: read again);
//   - 401, 403 (a refused or unknown credential): storeio.ErrForbidden,
//     permanent;
//   - 413, EntityTooLarge: storeio.ErrTooLarge, permanent;
//   - 429, 503 SlowDown, 500, other 5xx, 408 and 400 RequestTimeout:
//     retry.ErrTransient, retried;
//   - any other answer: permanent, no sentinel.
//
// An error without an answer (refused connection, reset, timeout, an
// untrusted certificate) is returned as it is: retry.Permanent and
// retry.Retryable find the net and x509 errors inside.
func storeError(err error, o op, name string) error {
	if err == nil {
		return nil
	}
	status, code := statusOf(err)
	if status == 0 {
		return err
	}
	var kind error
	switch {
	case status == http.StatusPreconditionFailed, status == http.StatusConflict:
		kind = storeio.ErrConflict
		if o == opCreate {
			kind = storeio.ErrAlreadyExists
		}
	case status == http.StatusNotFound:
		kind = storeio.ErrNotFound
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		kind = storeio.ErrForbidden
	case status == http.StatusRequestEntityTooLarge, code == "EntityTooLarge":
		kind = storeio.ErrTooLarge
	case status == http.StatusTooManyRequests, code == "SlowDown", code == "Throttling", code == "ThrottlingException",
		status == http.StatusRequestTimeout, code == "RequestTimeout", status >= 500:
		kind = retry.ErrTransient
	}
	return &s3Error{msg: fmt.Sprintf("s3: %s: HTTP %d %s", name, status, code), kind: kind, err: err}
}

// s3Error is an S3 answer with the sentinel it means (nil for none), the
// SDK's error still inside for errors.As.
type s3Error struct {
	msg  string
	kind error
	err  error
}

func (e *s3Error) Error() string { return e.msg + ": " + short(e.err) }
func (e *s3Error) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// short is the SDK's error message without its operation preamble, which
// repeats what the caller already says.
func short(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if m := ae.ErrorMessage(); m != "" {
			return ae.ErrorCode() + ": " + m
		}
		return ae.ErrorCode()
	}
	return err.Error()
}
