// Must not compile: a ProcessPoolExecutor call whose argument type cannot be
// serialized. The error must say "cannot cross a process boundary" and name
// NotSerializableWidget. (Built with CF_COMPILE_FAIL_CONTROL, the type gets a
// serialize() member and the file compiles: see control.cpp.)
#include <cfutures/cfutures.hpp>

namespace compile_fail_argument {

struct NotSerializableWidget {
    int size = 0;
#ifdef CF_COMPILE_FAIL_CONTROL
    template <class Archive>
    void serialize(Archive& a) {
        a(size);
    }
#endif
};

int measure(const NotSerializableWidget& w) { return w.size; }

int use(cf::ProcessPoolExecutor& ex) { return ex.submit(&measure, NotSerializableWidget{3}).result(); }

}  // namespace compile_fail_argument
