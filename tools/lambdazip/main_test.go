package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLambdaZip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	data := bytes.Repeat([]byte("\x7fELF bootstrap "), 4096)
	require.NoError(t, os.WriteFile(bin, data, 0o600))

	var zips [][]byte
	for i := range 2 {
		out := filepath.Join(dir, "out"+string(rune('0'+i))+".zip")
		require.NoError(t, run([]string{"-o", out, bin}, io.Discard))
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		zips = append(zips, b)
	}
	assert.Equal(t, zips[0], zips[1], "a second run gives the same bytes")

	zr, err := zip.NewReader(bytes.NewReader(zips[0]), int64(len(zips[0])))
	require.NoError(t, err)
	require.Len(t, zr.File, 1)
	f := zr.File[0]
	assert.Equal(t, "bootstrap", f.Name)
	assert.Equal(t, zip.Deflate, f.Method)
	assert.Equal(t, os.FileMode(0o755), f.Mode())
	assert.True(t, f.Modified.Equal(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)), f.Modified)
	rc, err := f.Open()
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, data, got)
	assert.Less(t, len(zips[0]), len(data)/10, "compressed")

	assert.Error(t, run([]string{bin}, io.Discard), "no -o")
	assert.Error(t, run([]string{"-o", filepath.Join(dir, "x.zip"), filepath.Join(dir, "missing")}, io.Discard))
}
