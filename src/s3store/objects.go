package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/store"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

var (
	_ storeio.Store    = (*Store)(nil)
	_ storeio.Clusters = (*Store)(nil)
)

// listPage is the keys one listing request asks for; S3 answers at most 1000.
const listPage = 1000

// Get reads the object of name; nil when there is none.
func (s *Store) Get(ctx context.Context, name string) (*storeio.Shard, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	return s.get(ctx, name, key)
}

func (s *Store) get(ctx context.Context, name, key string) (*storeio.Shard, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		err = storeError(err, opRead, name)
		if errors.Is(err, storeio.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	defer out.Body.Close()
	etag := aws.ToString(out.ETag)
	if n := aws.ToInt64(out.ContentLength); n > maxBody {
		return tooLarge(name, key, etag), nil // not read at all
	}
	raw, err := io.ReadAll(io.LimitReader(out.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if len(raw) > maxBody {
		return tooLarge(name, key, etag), nil
	}
	return decodeBody(name, raw, etag), nil
}

// tooLarge is the object at key, over the size a read takes, as a shard
// that says so (storeio.Shard.Unreadable): readers warn and read the rest of
// the hour, the sink writes the hour anew over it (with its ETag), as it
// does over a body that is not a ConfigMap. A shard holds about 1 MiB of
// values, so such an object was not written by Pod Ashiato.
func tooLarge(name, key, etag string) *storeio.Shard {
	hour, shard, _ := store.ParseName(name)
	return &storeio.Shard{Name: name, Hour: hour, Index: shard, Version: etag,
		Unreadable: fmt.Errorf("s3: %s is larger than %d bytes: %w", key, maxBody, storeio.ErrTooLarge)}
}

// ListHour lists the hour's keys and reads each.
func (s *Store) ListHour(ctx context.Context, hour time.Time) ([]storeio.Shard, error) {
	var keys []listed
	err := s.listKeys(ctx, s.hourPrefix(hour), "", retry.Policy{}, "", false, func(l listed) bool {
		keys = append(keys, l)
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]storeio.Shard, 0, len(keys))
	for _, l := range keys {
		cm, err := s.get(ctx, l.name, l.key)
		if err != nil {
			return nil, err
		}
		if cm != nil {
			out = append(out, *cm)
		}
	}
	return out, nil
}

// ListHours lists the cluster's keys from first's hour on, in key order,
// which is hour order, and reads each object of an hour up to last. Each
// request (a page of keys, an object) is retried by policy. An object
// deleted between the listing and its read is left out.
func (s *Store) ListHours(ctx context.Context, first, last time.Time, limit int64, policy retry.Policy, what string, each func(*storeio.Shard)) error {
	return s.listRange(ctx, first, last, policy, what, func(l listed) error {
		var cm *storeio.Shard
		err := retry.Do(ctx, policy, what, func(ctx context.Context) error {
			var err error
			cm, err = s.get(ctx, l.name, l.key)
			return err
		})
		if err != nil {
			return err
		}
		if cm != nil {
			each(cm)
		}
		return nil
	})
}

// ListRefs lists the hours' keys and ETags; nothing is read.
func (s *Store) ListRefs(ctx context.Context, first, last time.Time, policy retry.Policy, what string, each func(storeio.Ref)) error {
	return s.listRange(ctx, first, last, policy, what, func(l listed) error {
		each(storeio.Ref{Name: l.name, Version: l.etag})
		return nil
	})
}

// listRange calls fn for every key of the hours first..last (a zero first is
// the oldest), in order.
func (s *Store) listRange(ctx context.Context, first, last time.Time, policy retry.Policy, what string, fn func(listed) error) error {
	startAfter := ""
	if !first.IsZero() {
		// "…/HH" sorts just before "…/HH/0", the hour's first key.
		startAfter = strings.TrimSuffix(s.hourPrefix(first), "/")
	}
	lastHour := store.HourOf(last)
	var failed error
	err := s.listKeys(ctx, s.clusterPrefix(), startAfter, policy, what, true, func(l listed) bool {
		if !last.IsZero() && l.hour.After(lastHour) {
			return false
		}
		failed = fn(l)
		return failed == nil
	})
	if err != nil {
		return err
	}
	return failed
}

// listed is one key of the store.
type listed struct {
	key, name, etag string
	hour            time.Time
}

// listKeys calls fn for each store key under prefix after startAfter, page
// by page, until fn returns false. With retried, each page is retried by
// policy; otherwise a page is one try (the caller retries the whole).
func (s *Store) listKeys(ctx context.Context, prefix, startAfter string, policy retry.Policy, what string, retried bool, fn func(listed) bool) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(listPage)}
	if startAfter != "" {
		in.StartAfter = aws.String(startAfter)
	}
	for {
		var page *s3.ListObjectsV2Output
		call := func(ctx context.Context) error {
			var err error
			page, err = s.client.ListObjectsV2(ctx, in)
			return storeError(err, opRead, prefix)
		}
		var err error
		if retried {
			err = retry.Do(ctx, policy, what, call)
		} else {
			err = call(ctx)
		}
		if err != nil {
			return err
		}
		var batch []listed
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if name, hour, ok := s.nameOf(key); ok {
				batch = append(batch, listed{key: key, name: name, etag: aws.ToString(o.ETag), hour: hour})
			}
		}
		// Keys sort as text ("10" before "2"); within an hour, shard order.
		slices.SortStableFunc(batch, func(a, b listed) int {
			if c := a.hour.Compare(b.hour); c != 0 {
				return c
			}
			return shardOf(a.key) - shardOf(b.key)
		})
		for _, l := range batch {
			if !fn(l) {
				return nil
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

func shardOf(key string) int {
	n, _ := strconv.Atoi(key[strings.LastIndexByte(key, '/')+1:])
	return n
}

// Create writes cm only if no object has its key (If-None-Match: *).
func (s *Store) Create(ctx context.Context, cm *storeio.Shard) (*storeio.Shard, error) {
	return s.put(ctx, cm, opCreate)
}

// Update writes cm only if the object's ETag is cm.Version (If-Match).
func (s *Store) Update(ctx context.Context, cm *storeio.Shard) (*storeio.Shard, error) {
	if cm.Version == "" {
		return nil, errors.New("s3: an update of " + cm.Name + " needs the ETag it was read with")
	}
	return s.put(ctx, cm, opUpdate)
}

func (s *Store) put(ctx context.Context, cm *storeio.Shard, o op) (*storeio.Shard, error) {
	key, err := s.key(cm.Name)
	if err != nil {
		return nil, err
	}
	raw, annotations, err := encodeBody(cm, s.cluster)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", cm.Name, err)
	}
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(raw),
		ContentLength: aws.Int64(int64(len(raw))), ContentType: aws.String("application/json"),
	}
	if o == opCreate {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(cm.Version)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return nil, storeError(err, o, cm.Name)
	}
	got := *cm
	got.Annotations = annotations
	got.Version = aws.ToString(out.ETag)
	return &got, nil
}

// Delete removes the object. S3 does not take a version to compare on every
// service, so the delete is unconditional: retention deletes only hours that
// ended long before any writer could still touch them.
func (s *Store) Delete(ctx context.Context, ref storeio.Ref) error {
	key, err := s.key(ref.Name)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	return storeError(err, opDelete, ref.Name)
}

// Clusters lists the clusters that have hours under the prefix (a listing
// with delimiter "/"), in name order.
func (s *Store) Clusters(ctx context.Context, policy retry.Policy) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.basePrefix()), Delimiter: aws.String("/")}
	var out []string
	for {
		var page *s3.ListObjectsV2Output
		err := retry.Do(ctx, policy, "listing the clusters in s3://"+s.bucket+"/"+s.basePrefix(), func(ctx context.Context) error {
			var err error
			page, err = s.client.ListObjectsV2(ctx, in)
			return storeError(err, opRead, s.basePrefix())
		})
		if err != nil {
			return nil, err
		}
		for _, p := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), s.basePrefix()), "/")
			if ValidCluster(name) == nil {
				out = append(out, name)
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			break
		}
		in.ContinuationToken = page.NextContinuationToken
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
