package protocol

import "encoding/base64"

// Meta commands carry binary keys base64-encoded (flag b). memcached's
// decoder skips bytes outside the alphabet, needs a multiple of four
// alphabet bytes, and stops at the first block with padding; its encoder is
// standard base64 with padding.

var b64Decode = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = 0x80
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	t['='] = 0
	return t
}()

// DecodeBase64Key decodes src into dst (which must have room for len(src)
// bytes) as memcached's base64_decode does, returning the decoded length,
// or 0 when the input is invalid.
func DecodeBase64Key(dst, src []byte) int {
	count := 0
	for _, c := range src {
		if b64Decode[c] != 0x80 {
			count++
		}
	}
	if count == 0 || count%4 != 0 {
		return 0
	}
	var block [4]byte
	pos, n, pad := 0, 0, 0
	for _, c := range src {
		v := b64Decode[c]
		if v == 0x80 {
			continue
		}
		if c == '=' {
			pad++
		}
		block[n] = v
		n++
		if n < 4 {
			continue
		}
		dst[pos] = block[0]<<2 | block[1]>>4
		dst[pos+1] = block[1]<<4 | block[2]>>2
		dst[pos+2] = block[2]<<6 | block[3]
		pos += 3
		n = 0
		if pad > 0 {
			switch pad {
			case 1:
				pos--
			case 2:
				pos -= 2
			default:
				return 0 // invalid padding
			}
			break
		}
	}
	return pos
}

// AppendBase64 appends the standard padded base64 encoding of src.
func AppendBase64(dst, src []byte) []byte {
	return base64.StdEncoding.AppendEncode(dst, src)
}
