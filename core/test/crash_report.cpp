// Linked into every gtest binary: on a fatal signal, prints the running test's name and a
// backtrace to stderr, then dies of the same signal (ctest still reports the crash). A crash
// seen once in CI and never here should leave more than "SegFault" behind. Sanitizer builds
// keep the sanitizers' own, better reports.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define CACHEGEN_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define CACHEGEN_SANITIZED 1
#endif
#endif

#ifndef CACHEGEN_SANITIZED
namespace {

void write_text(const char* text) {
  ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

void report_and_die(int signal_number) {
  write_text("\n*** fatal signal ");
  write_text(strsignal(signal_number));
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (test != nullptr) {
    write_text(" in test ");
    write_text(test->test_suite_name());
    write_text(".");
    write_text(test->name());
  }
  write_text("; backtrace (addr2line -e BINARY resolves the +offsets):\n");
  void* frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

[[maybe_unused]] const bool installed = [] {
  // An alternate stack, so that a stack overflow can be reported too.
  static char alternate_stack[1 << 16];
  stack_t stack{};
  stack.ss_sp = alternate_stack;
  stack.ss_size = sizeof(alternate_stack);
  sigaltstack(&stack, nullptr);
  void* warm[1];
  backtrace(warm, 1);  // loads libgcc now, not inside the handler
  struct sigaction action {};
  action.sa_handler = report_and_die;
  action.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    sigaction(s, &action, nullptr);
  return true;
}();

}  // namespace
#endif  // CACHEGEN_SANITIZED
