package app_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docs/security.md promises that every line of the threat model names the
// test that proves it. This keeps the promise: a row without a test, or a
// test that was renamed or removed, fails here.
func TestSecurityDocNamesRealTests(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Every test function of the repository, by package directory.
	funcs := map[string]bool{} // "dir TestName"
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w+)\(`)
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			funcs[rel+" "+m[1]] = true
			funcs[filepath.Base(rel)+" "+m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile("`([a-z/]+) ((?:Test|Fuzz|Benchmark)\\w+)`")
	rows := 0
	for i, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| who ") || strings.HasPrefix(line, "| what ") {
			continue
		}
		rows++
		refs := ref.FindAllStringSubmatch(line, -1)
		if len(refs) == 0 {
			t.Errorf("docs/security.md:%d names no test: %s", i+1, line)
		}
		for _, r := range refs {
			if !funcs[r[1]+" "+r[2]] {
				t.Errorf("docs/security.md:%d names %s in %s, which does not exist", i+1, r[2], r[1])
			}
		}
	}
	if rows < 20 {
		t.Errorf("docs/security.md has %d rows; the roles table seems lost", rows)
	}
}
