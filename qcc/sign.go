package qcc

import (
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Sign returns the Timespan and Token headers QCC checks: Timespan is the
// Unix time in seconds and Token the uppercase hex MD5 of
// appKey + Timespan + secretKey. It is the only place the secret key is used.
func Sign(appKey, secretKey string, now time.Time) (timespan, token string) {
	timespan = strconv.FormatInt(now.Unix(), 10)
	sum := md5.Sum([]byte(appKey + timespan + secretKey))
	return timespan, strings.ToUpper(hex.EncodeToString(sum[:]))
}
