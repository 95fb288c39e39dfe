// Prints every rune outside ASCII that Go's encoding/json could match to an ASCII letter of a struct field's name:
// "upper" for Go >= 1.21's fold (unicode.ToUpper(unicode.ToLower(r))), "orbit" for Go <= 1.20's (unicode.SimpleFold
// orbits, as bytes.EqualFold). test/api/jsonFields.test.ts compares the output with the gateway's table.
package main

import (
	"fmt"
	"unicode"
)

func main() {
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if folded := unicode.ToUpper(unicode.ToLower(r)); folded < 0x80 {
			fmt.Printf("upper %04X %c\n", r, folded)
		}
		for other := unicode.SimpleFold(r); other != r; other = unicode.SimpleFold(other) {
			if other < 0x80 {
				fmt.Printf("orbit %04X %c\n", r, unicode.ToUpper(other))
			}
		}
	}
}
