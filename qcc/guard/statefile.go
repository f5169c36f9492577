package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The state file keeps the budget count and the cooldowns beside the cache
// file (CacheFile + ".state"), so that damage to the cache, which may be
// large and is often rewritten, cannot reach what was paid for. It is one
// small JSON document replaced whole on every change (written to a
// temporary file, synced, renamed over the old one), so it is always either
// the old state or the new. The cache file keeps a copy too, from which a
// lost or damaged state file is recovered.
type stateFile struct {
	path string
}

// stateFormat is the format value of the state file; stateMarker starts
// every format value this program has written there.
const (
	stateMarker = "qcc-mcp state "
	stateFormat = stateMarker + "1"
)

// stateDoc is the state file's content.
type stateDoc struct {
	Format    string              `json:"format"`
	Budget    budget              `json:"budget"`
	Clients   clientBudgets       `json:"clients"`
	Cooldowns map[string]Cooldown `json:"cooldowns"`
}

// stateFilePath is where the state of cache file path is kept.
func stateFilePath(cachePath string) string { return cachePath + ".state" }

// errStateDamaged is a state file that exists but cannot be read as ours.
var errStateDamaged = errors.New("the state file is damaged")

// loadStateFile reads the state file. found is false when there is none.
// A damaged one that is recognisably ours is moved aside (and reported
// with errStateDamaged, so the caller recovers the state elsewhere);
// anything else at that path, and symbolic links, are refused.
func loadStateFile(path string, now time.Time) (doc *stateDoc, found bool, err error) {
	existed, err := checkPlainFile(path, "state file")
	if err != nil || !existed {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, false, fmt.Errorf("state file %s cannot be opened: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	f.Close()
	if err != nil {
		return nil, false, fmt.Errorf("state file %s cannot be read: %w", path, err)
	}
	doc = &stateDoc{}
	if json.Unmarshal(data, doc) == nil && doc.Format == stateFormat {
		return doc, true, nil
	}
	if len(data) > 0 && !bytes.Contains(data, []byte(stateMarker)) && !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return nil, false, fmt.Errorf("state file %s is not a qcc-mcp state file; it was left untouched: "+
			"move it away or give --cache-file another path", path)
	}
	aside, err := moveAside(path, now)
	if err != nil {
		return nil, false, fmt.Errorf("state file %s is damaged and could not be moved aside: %w", path, err)
	}
	return nil, false, fmt.Errorf("%w (moved to %s)", errStateDamaged, aside)
}

// write replaces the state file with doc.
func (sf *stateFile) write(doc *stateDoc) error {
	doc.Format = stateFormat
	data, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	// CreateTemp opens with O_EXCL: a link planted at a guessed name
	// makes it pick another name rather than write through the link.
	tmp, err := os.CreateTemp(filepath.Dir(sf.path), filepath.Base(sf.path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// rename replaces a link at sf.path by the file, never its target.
		err = os.Rename(tmp.Name(), sf.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}
