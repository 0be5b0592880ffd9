// Package storeio is the store's contract: the Store the sink, retention, the
// history query, the web view and store copy read and write the hour shards
// through, the Shard value they pass, and the errors they tell apart. It
// names no backend and imports none: package configmapstore (hourly
// ConfigMaps, the default) and package s3store (objects in a bucket)
// implement it, and package storeopen picks one from the flags. Package store
// (the codec) lays out what a shard holds; package storeread reads an hour,
// or a pod's shards, through a Store.
//
// A consumer takes a Store and never asks which backend it holds. What only
// one backend can do is an optional interface of its own (Unlabelled,
// DeleteChecker, DeletionWatcher, Clusters, Files), asked for with a type assertion
// on the capability, never on a backend's type.
package storeio

import (
	"context"
	"errors"
	"time"

	"github.com/pod-ashiato/ashiato/src/retry"
)

// PageSize is how many store objects one listing request returns: an object
// may hold up to ~1 MiB, so a page stays near 100 MiB at worst.
const PageSize = 100

// Errors every backend returns, wrapped (test with errors.Is). A backend may
// keep its own error in the chain beside the sentinel (the API server's
// status), so that retry.Retryable still sees what it knows.
var (
	// ErrNotFound: the object is not there (Update, Delete).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object changed since its Version was read (Update,
	// Delete): read again and merge.
	ErrConflict = errors.New("conflict")
	// ErrAlreadyExists: a Create found an object of that name.
	ErrAlreadyExists = errors.New("already exists")
	// ErrTooLarge: the object is larger than the backend reads or writes.
	ErrTooLarge = errors.New("too large")
	// ErrForbidden: the backend refused the credentials or the permission.
	ErrForbidden = errors.New("forbidden")
)

// Shard is one stored object of an hour, whatever the backend: what package
// store encodes and decodes, with the version the backend gave it.
type Shard struct {
	// Name is the object's name, store.ShardName(Hour, Index).
	Name string
	// Hour is the UTC hour the shard belongs to and Index its place among
	// the hour's shards (0 holds the count). A backend reads them from the
	// object's hour and shard marks (labels) and, where those are absent,
	// from the name.
	Hour  time.Time
	Index int
	// Legacy marks an object of the original tool: it has no hour or shard
	// mark, only its name says the hour (store/doc.go, "Objects"). Only the
	// ConfigMap store holds such objects; the codec never writes one.
	Legacy bool
	// Labels are the labels others put on the object (a kubectl label), kept
	// on a rewrite; the store's own labels are not among them: a backend
	// writes those from Hour, Index and Legacy.
	Labels map[string]string
	// Annotations are the codec's marks on the object: format and shard
	// count on shard 0 (store.AnnotationFormat, store.AnnotationShards), and
	// whatever else the backend or a person put there (the S3 store's
	// cluster, a kubectl annotation), kept on a rewrite.
	Annotations map[string]string
	// Data and BinaryData are the values: the plain form's keys in Data, the
	// packed form's gzip streams in BinaryData.
	Data       map[string]string
	BinaryData map[string][]byte
	// Version is what the backend says identifies this version of the
	// object (a ConfigMap's resourceVersion, an S3 object's ETag); "" for a
	// shard not stored yet. Update and Delete are conditional on it.
	Version string
	// Unreadable, when set, is why the backend could list or find the
	// object but not read its content: an error wrapping ErrTooLarge (an S3
	// object over the size a read takes). The shard then has its Name,
	// Hour, Index and Version and no values. A reader warns and goes on (the
	// codec does: a store.Warning); a writer replaces the object, as it
	// replaces a damaged one.
	Unreadable error
}

// Size is the bytes of the shard's values, what a backend's object limit
// counts.
func (s *Shard) Size() int {
	n := 0
	for _, v := range s.Data {
		n += len(v)
	}
	for _, v := range s.BinaryData {
		n += len(v)
	}
	return n
}

// Ref is a listed object: its name and the version it was listed at.
type Ref struct {
	Name    string
	Version string
}

// Store is where the hour shards live.
//
// Errors wrap the sentinels above: a lost race is ErrConflict (Update,
// Delete) or ErrAlreadyExists (Create), an object gone is ErrNotFound, a
// refusal ErrForbidden; an outage is an error retry.Retryable accepts.
//
// Single calls are single tries; the callers retry them. Listings page and
// retry each page with the policy they are given.
type Store interface {
	// Get returns the store object name (a store.ShardName), or nil and no
	// error when there is none (or the object of that name is not the
	// store's). An object it cannot read is returned with Unreadable set,
	// as the listings return it, so one such object does not fail a read of
	// the rest.
	Get(ctx context.Context, name string) (*Shard, error)
	// ListHour returns every shard of the hour that has the hour's mark
	// (not the original tool's object: get that by name).
	ListHour(ctx context.Context, hour time.Time) ([]Shard, error)
	// ListHours calls each for every marked shard of the hours first..last
	// (both included; a zero first is the oldest, a zero last the newest),
	// limit objects a request (0 is PageSize), hours in order. A listing
	// that starts over may show an object twice.
	ListHours(ctx context.Context, first, last time.Time, limit int64, policy retry.Policy, what string, each func(*Shard)) error
	// ListRefs is ListHours without the content: what a delete needs.
	ListRefs(ctx context.Context, first, last time.Time, policy retry.Policy, what string, each func(Ref)) error
	// Create writes a new object and returns it as stored, with its
	// Version: ErrAlreadyExists when one of that name is there.
	Create(ctx context.Context, s *Shard) (*Shard, error)
	// Update replaces the object whose version is s.Version and returns it
	// as stored: ErrConflict when it changed since, ErrNotFound when it is
	// gone.
	Update(ctx context.Context, s *Shard) (*Shard, error)
	// Delete removes the object ref names, if it is still the version
	// listed (where the backend can tell): ErrNotFound when gone,
	// ErrConflict when changed.
	Delete(ctx context.Context, ref Ref) error
	// Location names one object for messages: "ConfigMap default/pod-ashiato-2026112614",
	// "S3 object s3://bucket/prefix/cluster/2026/11/26/14/0".
	Location(name string) string
	// String names the store for messages: "namespace default",
	// "s3://bucket/prefix/cluster/".
	String() string
}

// Unlabelled is what a store holding the original tool's objects offers: they
// have no hour mark, so ListHour and ListHours do not find them. Only the
// ConfigMap store has them.
type Unlabelled interface {
	// ListUnlabelled calls each for every store object without an hour
	// mark (Legacy shards), limit a request (0 is PageSize).
	ListUnlabelled(ctx context.Context, limit int64, policy retry.Policy, what string, each func(*Shard)) error
}

// DeleteChecker is what a store that can tell whether deleting is allowed,
// without deleting anything, offers (the ConfigMap store: a dry-run delete),
// so retention finds a missing permission at start-up rather than when the
// first hour expires, days later.
type DeleteChecker interface {
	// CheckDelete returns an error wrapping ErrForbidden when deleting is
	// not allowed, nil when it is; any other error means it could not tell.
	CheckDelete(ctx context.Context) error
}

// DeletionWatcher is what a store that can tell of objects deleted by
// someone else offers (the ConfigMap store: a metadata watch), so a writer
// that never reads the store in steady state writes a hand-deleted hour
// again.
type DeletionWatcher interface {
	// WatchDeletions starts watching, in the background until ctx ends, and
	// calls deleted with the name of each store object deleted.
	WatchDeletions(ctx context.Context, deleted func(name string)) error
}

// Clusters is what a store holding several clusters' histories offers (the
// S3 store: one prefix per cluster).
type Clusters interface {
	// Clusters lists the clusters that have hours in the store, in name
	// order.
	Clusters(ctx context.Context, policy retry.Policy) ([]string, error)
	// WithCluster is the same store, the named cluster's hours.
	WithCluster(name string) Store
}

// FilesFolder is the folder under a store's root (in the S3 store its
// prefix, beside the clusters) that holds the files of Files: no cluster
// may be named so.
const FilesFolder = "tables"

// Files is what a store that can keep files beside its hours offers (the S3
// store): the history's tables (package table) written for query engines. A
// key is relative to the store's root, the folder its clusters' hours are
// in, and starts with FilesFolder + "/"; a backend refuses any other, so a
// file never takes the place of an hour's object.
type Files interface {
	// PutFile writes body at key only if nothing is there (S3: a PUT with
	// If-None-Match: *): ErrAlreadyExists when something is. A reader sees
	// the whole body or nothing.
	PutFile(ctx context.Context, key string, body []byte) error
	// ListFiles calls each with every key under prefix (a key prefix, not
	// necessarily a folder), in key order, each page retried by policy.
	ListFiles(ctx context.Context, prefix string, policy retry.Policy, each func(key string)) error
	// DeleteFile removes the file at key; nil when there is none.
	DeleteFile(ctx context.Context, key string) error
	// FileLocation names the file at key for messages ("s3://bucket/prefix/key").
	FileLocation(key string) string
}
