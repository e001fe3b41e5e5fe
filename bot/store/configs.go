package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// The configs bucket keeps the config files the bot loaded or was asked
// to load, by the hex SHA-256 of their bytes, and "current" → the hash of
// the one in force. It is not part of the audit trail (a file may hold
// inline secrets; the trail has the config with secrets redacted): it is
// what lets a restart apply exactly what was approved.
var (
	bucketConfigs  = []byte("configs")
	configsCurrent = []byte("current")
)

func init() { allBuckets = append(allBuckets, bucketConfigs) }

// PutConfig keeps a config file's bytes under their hash.
func (t *tx) PutConfig(text []byte) (string, error) {
	if err := t.usable(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(text)
	hash := hex.EncodeToString(sum[:])
	return hash, t.put(bucketConfigs, []byte("sha256:"+hash), append([]byte{}, text...))
}

// Config returns the bytes kept under hash; ok is false when none are.
// Bytes that no longer hash to hash are an error, never returned.
func (t *tx) Config(hash string) ([]byte, bool, error) {
	if err := t.usable(); err != nil {
		return nil, false, err
	}
	v := t.get(bucketConfigs, []byte("sha256:"+hash))
	if v == nil {
		return nil, false, nil
	}
	sum := sha256.Sum256(v)
	if hex.EncodeToString(sum[:]) != hash {
		return nil, false, fmt.Errorf("config %s: the kept bytes hash to %s: the database is damaged", hash, hex.EncodeToString(sum[:]))
	}
	return append([]byte{}, v...), true, nil
}

// SetCurrentConfig records hash as the config in force.
func (t *tx) SetCurrentConfig(hash string) error {
	if err := t.usable(); err != nil {
		return err
	}
	return t.put(bucketConfigs, configsCurrent, []byte(hash))
}

// CurrentConfig returns the hash of the config in force, "" when none
// was recorded (a database from before reloads).
func (t *tx) CurrentConfig() (string, error) {
	if err := t.usable(); err != nil {
		return "", err
	}
	return string(t.get(bucketConfigs, configsCurrent)), nil
}
