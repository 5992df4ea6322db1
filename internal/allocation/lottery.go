package allocation

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"strconv"
)

// lotteryDomain separates this derivation from any other use of the seed.
const lotteryDomain = "loket-lottery-v1\n"

// LotteryValue is the 64-bit lottery value of a child under single
// tie-breaking: the first 8 bytes, big-endian, of
// SHA-256("loket-lottery-v1\n" + seed + "\n" + round + "\n" + childID).
// It depends only on the seed, the round and the child ID, never on input order.
func LotteryValue(seed Seed, round int, childID string) uint64 {
	buf := lotteryPrefix(nil, seed, round)
	return hashTail(buf, childID)
}

// LocationLotteryValue is the lottery value under per-location tie-breaking:
// SHA-256("loket-lottery-v1\n" + seed + "\n" + round + "\n" + locationID + "\n" + childID).
func LocationLotteryValue(seed Seed, round int, locationID, childID string) uint64 {
	buf := lotteryPrefix(nil, seed, round)
	buf = append(buf, locationID...)
	buf = append(buf, '\n')
	return hashTail(buf, childID)
}

func lotteryPrefix(buf []byte, seed Seed, round int) []byte {
	buf = append(buf[:0], lotteryDomain...)
	buf = append(buf, seed...)
	buf = append(buf, '\n')
	buf = strconv.AppendInt(buf, int64(round), 10)
	return append(buf, '\n')
}

// hashTail hashes prefix+tail; the caller's prefix is left untouched.
func hashTail(prefix []byte, tail string) uint64 {
	msg := append(prefix, tail...)
	sum := sha256.Sum256(msg)
	return binary.BigEndian.Uint64(sum[:8])
}

// ReservedSeats is the number of seats of a programme reserved for
// vulnerable children: share*capacity rounded down, or half up. A tiny
// epsilon absorbs binary floating point error (0.3*10 must give 3).
func ReservedSeats(share float64, capacity int, rounding Rounding) int {
	if capacity <= 0 || share <= 0 {
		return 0
	}
	x := share * float64(capacity)
	const eps = 1e-9
	var r float64
	if rounding == RoundHalfUp {
		r = math.Floor(x + 0.5 + eps)
	} else {
		r = math.Floor(x + eps)
	}
	return min(max(int(r), 0), capacity)
}
