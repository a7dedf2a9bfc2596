module microapp.dev/bench/loadgen

go 1.22
