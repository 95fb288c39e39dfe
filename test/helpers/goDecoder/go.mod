module parallama/godecoder

go 1.19
