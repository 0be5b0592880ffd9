package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

var _ storeio.Files = (*Store)(nil)

// errNotAFile is a key outside storeio.FilesFolder: it could be a
// cluster's hour.
var errNotAFile = errors.New("not under " + storeio.FilesFolder + "/")

// fileKey is the object key of a file's key, "<prefix>/<key>".
func (s *Store) fileKey(key string) (string, error) {
	if !strings.HasPrefix(key, storeio.FilesFolder+"/") || strings.Contains(key, "//") || strings.Contains(key, "/../") {
		return "", fmt.Errorf("s3: file key %q: %w", key, errNotAFile)
	}
	return s.basePrefix() + key, nil
}

// PutFile creates the object at key with If-None-Match: *; S3 stores a PUT
// whole or not at all.
func (s *Store) PutFile(ctx context.Context, key string, body []byte) error {
	k, err := s.fileKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(k), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), IfNoneMatch: aws.String("*"),
		ContentType: aws.String("application/vnd.apache.parquet"),
	})
	return storeError(err, opCreate, k)
}

// ListFiles lists the keys under prefix with the SDK's paginator, each page
// retried by policy.
func (s *Store) ListFiles(ctx context.Context, prefix string, policy retry.Policy, each func(key string)) error {
	full := s.basePrefix() + prefix
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.bucket), Prefix: aws.String(full), MaxKeys: aws.Int32(listPage)})
	for pages.HasMorePages() {
		var page *s3.ListObjectsV2Output
		err := retry.Do(ctx, policy, "listing s3://"+s.bucket+"/"+full, func(ctx context.Context) error {
			var err error
			page, err = pages.NextPage(ctx)
			return storeError(err, opRead, full)
		})
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			each(strings.TrimPrefix(aws.ToString(o.Key), s.basePrefix()))
		}
	}
	return nil
}

// DeleteFile deletes the object at key; S3 answers a delete of nothing with
// success.
func (s *Store) DeleteFile(ctx context.Context, key string) error {
	k, err := s.fileKey(key)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(k)})
	if err = storeError(err, opDelete, k); errors.Is(err, storeio.ErrNotFound) {
		return nil
	}
	return err
}

// FileLocation is "s3://bucket/<prefix>/<key>".
func (s *Store) FileLocation(key string) string {
	return "s3://" + s.bucket + "/" + s.basePrefix() + key
}
