package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pod-ashiato/ashiato/src/retry"
	"github.com/pod-ashiato/ashiato/src/storeio"
)

// folder is storeio.Files in a local folder: a key is a path under it.
type folder struct{ root string }

var _ storeio.Files = folder{}

// Folder is the files of the folder at dir, created if need be.
func Folder(dir string) (storeio.Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return folder{root: dir}, nil
}

func (f folder) path(key string) (string, error) {
	if !strings.HasPrefix(key, storeio.FilesFolder+"/") || !filepath.IsLocal(key) {
		return "", fmt.Errorf("file key %q: not under %s/", key, storeio.FilesFolder)
	}
	return filepath.Join(f.root, filepath.FromSlash(key)), nil
}

// PutFile writes body to a temporary file beside key's and links it into
// place: the link fails when a file is there (ErrAlreadyExists), and a
// reader sees the whole file or none.
func (f folder) PutFile(_ context.Context, key string, body []byte) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), p); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", p, storeio.ErrAlreadyExists)
	} else if err != nil {
		return err
	}
	return nil
}

// ListFiles walks the folders under prefix, in key order; the temporary
// files of a write cut short are not files.
func (f folder) ListFiles(_ context.Context, prefix string, _ retry.Policy, each func(key string)) error {
	dir := prefix[:strings.LastIndexByte(prefix, '/')+1]
	start := filepath.Join(f.root, filepath.FromSlash(dir))
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".part-") {
			return nil
		}
		rel, err := filepath.Rel(f.root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			each(key)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// DeleteFile removes the file at key; nil when there is none.
func (f folder) DeleteFile(_ context.Context, key string) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// FileLocation is the file's path.
func (f folder) FileLocation(key string) string {
	return filepath.Join(f.root, filepath.FromSlash(key))
}
