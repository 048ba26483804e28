// Test workload for contention mode: GOROUTINES goroutines take one sync.Mutex ITERATIONS times
// each, holding it HOLD_US asleep. Built statically (CGO_ENABLED=0): no C library at all. A
// blocked goroutine parks in Go's scheduler, whose threads sleep on futex(2) (runtime.futex).
//
//   go_mutex GOROUTINES ITERATIONS HOLD_US
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func arg(n int, def int) int {
	if len(os.Args) <= n {
		return def
	}
	v, err := strconv.Atoi(os.Args[n])
	if err != nil {
		panic(err)
	}
	return v
}

func main() {
	goroutines, iterations, holdUs := arg(1, 4), arg(2, 50), arg(3, 500)
	var mu sync.Mutex
	var wg sync.WaitGroup
	total := 0
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < iterations; i++ {
				mu.Lock()
				total++
				time.Sleep(time.Duration(holdUs) * time.Microsecond)
				mu.Unlock()
				time.Sleep(time.Duration(holdUs/4) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("done total=%d\n", total)
}
