package qcc

import (
	"crypto/md5"
	"strconv"
	"time"
)

// Sign returns the Timespan and Token headers QCC checks: Timespan is the
// Unix time in seconds and Token the uppercase hex MD5 of
// appKey + Timespan + secretKey. It is the only place the secret key is used.
func Sign(appKey, secretKey string, now time.Time) (timespan, token string) {
	var buf [128]byte // on the stack for keys of usual lengths
	in := append(buf[:0], appKey...)
	in = strconv.AppendInt(in, now.Unix(), 10)
	timespan = string(in[len(appKey):])
	in = append(in, secretKey...)
	sum := md5.Sum(in)
	clear(in) // this copy of the secret key need not linger (the Client keeps the key itself)
	const upperHex = "0123456789ABCDEF"
	var hex [2 * md5.Size]byte
	for i, c := range sum {
		hex[2*i], hex[2*i+1] = upperHex[c>>4], upperHex[c&15]
	}
	return timespan, string(hex[:])
}
