package s3store

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// apiError turns an S3 answer into apimachinery's kinds, so the sink's
// conflict handling and retry.Retryable treat both stores alike:
//   - 412 PreconditionFailed, 409 ConditionalRequestConflict: another writer
//     won; AlreadyExists for a create (If-None-Match: *), else Conflict;
//   - 404: NotFound (an update's object is gone: read again);
//   - 401, 403 (a refused or unknown credential): Forbidden, permanent;
//   - 429, 503 SlowDown, 500, other 5xx, 408 and 400 RequestTimeout:
//     TooManyRequests, ServiceUnavailable, InternalError, Timeout: retried;
//   - any other answer: BadRequest, permanent.
//
// An error without an answer (refused connection, reset, timeout, an
// untrusted certificate) is returned as it is: retry.Permanent and
// retry.Retryable find the net and x509 errors inside.
func apiError(err error, o op, name string) error {
	if err == nil {
		return nil
	}
	status, code := statusOf(err)
	if status == 0 {
		return err
	}
	var (
		reason metav1.StatusReason
		kind   = status
	)
	switch {
	case status == http.StatusPreconditionFailed, status == http.StatusConflict:
		reason, kind = metav1.StatusReasonConflict, http.StatusConflict
		if o == opCreate {
			reason = metav1.StatusReasonAlreadyExists
		}
	case status == http.StatusNotFound:
		reason = metav1.StatusReasonNotFound
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		reason, kind = metav1.StatusReasonForbidden, http.StatusForbidden
	case status == http.StatusTooManyRequests, code == "SlowDown", code == "Throttling", code == "ThrottlingException":
		reason, kind = metav1.StatusReasonTooManyRequests, http.StatusTooManyRequests
	case status == http.StatusServiceUnavailable:
		reason = metav1.StatusReasonServiceUnavailable
	case status == http.StatusRequestTimeout, code == "RequestTimeout":
		reason, kind = metav1.StatusReasonTimeout, http.StatusGatewayTimeout
	case status >= 500:
		reason = metav1.StatusReasonInternalError
	default:
		reason, kind = metav1.StatusReasonBadRequest, http.StatusBadRequest
	}
	return &s3Error{
		status: &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: int32(kind), Reason: reason,
			Message: fmt.Sprintf("s3: %s: HTTP %d %s", name, status, code),
			Details: &metav1.StatusDetails{Name: name, Group: "s3", Kind: "objects"},
		}},
		err: err,
	}
}

// s3Error is an S3 answer as an apimachinery status, with the SDK's error
// still inside for errors.As.
type s3Error struct {
	status *apierrors.StatusError
	err    error
}

func (e *s3Error) Error() string   { return e.status.ErrStatus.Message + ": " + short(e.err) }
func (e *s3Error) Unwrap() []error { return []error{e.status, e.err} }

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
