module parallama/gofold

go 1.19
