// The exceptions of cfutures, mirroring concurrent.futures' own hierarchy.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace cf {

/// Base of the module's own errors (Python's concurrent.futures.Error).
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The future was cancelled before it could run.
class CancelledError : public Error {
public:
    CancelledError() : Error("the future was cancelled") {}
    using Error::Error;
};

/// A wait with a timeout ran out of time.
class TimeoutError : public Error {
public:
    TimeoutError() : Error("the operation timed out") {}
    using Error::Error;
};

/// An operation was attempted on a future in a state that does not allow it.
class InvalidStateError : public Error {
public:
    using Error::Error;
};

/// The executor cannot run calls any more (a worker died or failed to start).
class BrokenExecutor : public Error {
public:
    using Error::Error;
    /// For an executor broken because a worker process ended: its pid and, when known,
    /// how it ended (exactly one of exit_code and signal_number, once it has ended).
    BrokenExecutor(const std::string& what, std::optional<int> pid, std::optional<int> exit_code,
                   std::optional<int> signal_number)
        : Error(what), pid_(pid), exit_code_(exit_code), signal_number_(signal_number) {}

    /// The pid of the worker process whose end broke the executor, if one did.
    [[nodiscard]] std::optional<int> pid() const noexcept { return pid_; }
    /// The worker's exit status, when it exited.
    [[nodiscard]] std::optional<int> exit_code() const noexcept { return exit_code_; }
    /// The signal that ended the worker (SIGSEGV is 11), when a signal did.
    [[nodiscard]] std::optional<int> signal_number() const noexcept { return signal_number_; }

private:
    std::optional<int> pid_;
    std::optional<int> exit_code_;
    std::optional<int> signal_number_;
};

/// A ThreadPoolExecutor's worker failed to initialise.
class BrokenThreadPool : public BrokenExecutor {
public:
    using BrokenExecutor::BrokenExecutor;
};

/// A ProcessPoolExecutor's worker died or its channel was corrupted.
class BrokenProcessPool : public BrokenExecutor {
public:
    using BrokenExecutor::BrokenExecutor;
};

/// submit() or map() on an executor that was shut down.
class ShutdownError : public Error {
public:
    ShutdownError() : Error("cannot schedule new futures after shutdown") {}
    using Error::Error;
};

/// Where an exception rebuilt from a worker came from (Python's _RemoteTraceback):
/// nested in it, so std::rethrow_if_nested finds it. what() names the function that
/// was called, the worker's pid and, where it could be had, the stack at the throw.
class RemoteTraceback : public Error {
public:
    using Error::Error;
};

/// A worker process threw an exception whose type cannot be rebuilt here.
class RemoteError : public Error {
public:
    /// `type_name`: the original type's demangled name; `what`: its what().
    RemoteError(std::string type_name, const std::string& what, std::string remote_traceback = {})
        : Error(what), type_name_(std::move(type_name)), remote_traceback_(std::move(remote_traceback)) {}

    /// The demangled name of the exception type thrown in the worker.
    [[nodiscard]] const std::string& type_name() const noexcept { return type_name_; }
    /// The traceback the worker wrote, the same text as the nested RemoteTraceback's
    /// what(): the worker's pid, the function called and its argument types, the stack
    /// of the latest `throw` expression the call's thread ran (no frames if it ran none,
    /// as when the exception came from another thread through std::rethrow_exception),
    /// then the type and what(). Empty only for a RemoteError made without one.
    [[nodiscard]] const std::string& remote_traceback() const noexcept { return remote_traceback_; }

private:
    std::string type_name_;
    std::string remote_traceback_;
};

}  // namespace cf
