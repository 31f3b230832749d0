// The subcommands of the `cachegen` binary. Each takes the arguments after its name and returns
// the process exit code; errors are thrown as cachegen::Error and reported by main().
#pragma once

namespace cachegen {

int run_encode(int argc, char** argv);
int run_decode(int argc, char** argv);
int run_inspect(int argc, char** argv);
int run_profile(int argc, char** argv);
int run_codec_report(int argc, char** argv);
int run_synth_kv(int argc, char** argv);
int run_netsim(int argc, char** argv);
int run_trace(int argc, char** argv);
int run_stream(int argc, char** argv);
int run_run(int argc, char** argv);
int run_merge(int argc, char** argv);
int run_list(int argc, char** argv);
#if CACHEGEN_HAVE_TORCH
int run_kv(int argc, char** argv);
int run_calibrate(int argc, char** argv);  // needs CACHEGEN_WITH_KVTC
int run_generate(int argc, char** argv);
int run_perplexity(int argc, char** argv);
int run_train(int argc, char** argv);
int run_retrieval_eval(int argc, char** argv);
int run_retrieval_text(int argc, char** argv);
#endif

}  // namespace cachegen
