// fluent-logger-golang in async mode: N events of a 5-field record to PORT.
// Prints the post loop's seconds (the caller's cost) on stdout.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/fluent/fluent-logger-golang/fluent"
)

func main() {
	port, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	logger, err := fluent.New(fluent.Config{FluentHost: "127.0.0.1", FluentPort: port, Async: true, BufferLimit: 64 * 1024 * 1024})
	if err != nil {
		panic(err)
	}
	record := map[string]interface{}{"host": "web-7.example.internal", "status": uint64(200), "latency": 0.01731, "cached": true, "path": "/api/v1/orders/42"}
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := logger.Post("bench.access", record); err != nil {
			panic(err)
		}
	}
	emit := time.Since(start).Seconds()
	if err := logger.Close(); err != nil {
		panic(err)
	}
	fmt.Println(emit)
}
