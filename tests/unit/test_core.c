#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "buf.h"
#include "crypto.h"
#include "error.h"
#include "util.h"

TEST(buf_grows_and_detaches)
{
	struct mdc_buf b = MDC_BUF_INIT;
	char *s;

	ASSERT_EQ_STR("", b.ptr);
	for (int i = 0; i < 1000; i++)
		mdc_buf_addf(&b, "%d,", i % 10);
	ASSERT_EQ_INT(2000, b.len);
	mdc_buf_setlen(&b, 4);
	ASSERT_EQ_STR("0,1,", b.ptr);
	s = mdc_buf_detach(&b);
	ASSERT_EQ_STR("", b.ptr);
	ASSERT_EQ_STR("0,1,", s);
	free(s);
}

TEST(buf_read_file_refuses_large)
{
	struct mdc_buf b = MDC_BUF_INIT;

	ASSERT_EQ_INT(-1, mdc_buf_read_file(&b, "CMakeLists.txt", 10));
	ASSERT_EQ_INT(EFBIG, errno);
	mdc_buf_release(&b);
	ASSERT_EQ_INT(0, mdc_buf_read_file(&b, "CMakeLists.txt", 1 << 20));
	ASSERT_CONTAINS(b.ptr, "project(mdcctl");
	mdc_buf_release(&b);
}

TEST(error_prefix_and_clear)
{
	struct mdc_error err = MDC_ERROR_INIT;

	ASSERT_EQ_INT(MDC_ECONFLICT,
	              mdc_error_set(&err, MDC_ECONFLICT, "another update is in progress"));
	mdc_error_prefix(&err, "cannot update pricing '%s'", "VirtualMachines");
	ASSERT_EQ_STR("cannot update pricing 'VirtualMachines': another update is in progress",
	              err.message);
	mdc_error_set_http(&err, 409, "Conflict", "5c1e");
	ASSERT_EQ_INT(409, err.http_status);
	mdc_error_clear(&err);
	ASSERT(err.message == NULL && err.code == 0);
}

TEST(guid_validation)
{
	char out[37];

	ASSERT(mdc_is_guid("4f7c3d2a-0000-4000-8000-000000000001"));
	ASSERT(mdc_is_guid("4F7C3D2A-0000-4000-8000-00000000000A"));
	ASSERT(!mdc_is_guid("4f7c3d2a-0000-4000-8000-00000000001"));
	ASSERT(!mdc_is_guid("{4f7c3d2a-0000-4000-8000-000000000001}"));
	ASSERT(!mdc_is_guid("4f7c3d2a-0000-4000-8000-000000000001x"));
	ASSERT(!mdc_is_guid(""));
	ASSERT(mdc_guid_normalize("4F7C3D2A-0000-4000-8000-00000000000A", out));
	ASSERT_EQ_STR("4f7c3d2a-0000-4000-8000-00000000000a", out);
}

TEST(did_you_mean)
{
	const char *plans[] = {"VirtualMachines", "StorageAccounts", "KeyVaults", "Arm"};

	ASSERT_EQ_STR("VirtualMachines", mdc_did_you_mean("VirtualMachine", plans, 4));
	ASSERT_EQ_STR("KeyVaults", mdc_did_you_mean("keyvault", plans, 4));
	ASSERT(mdc_did_you_mean("Kubernetes", plans, 4) == NULL);
}

TEST(utf8)
{
	size_t off = 0;

	ASSERT(mdc_utf8_valid("h\xc3\xa9llo", 6, &off));
	ASSERT(!mdc_utf8_valid("ab\xff", 3, &off));
	ASSERT_EQ_INT(2, off);
	ASSERT(!mdc_utf8_valid("\xc0\xaf", 2, &off));     /* overlong '/' */
	ASSERT(!mdc_utf8_valid("\xe2\x82", 2, &off));     /* truncated */
	ASSERT(!mdc_utf8_valid("\xed\xa0\x80", 3, &off)); /* surrogate */
}

TEST(version_cmp)
{
	ASSERT(mdc_version_cmp("3.0.10", "3.0.3") > 0);
	ASSERT(mdc_version_cmp("3.0.3", "3.0.3") == 0);
	ASSERT(mdc_version_cmp("2.0.1", "3.0.0") < 0);
}

TEST(crypto_helpers)
{
	char *h = mdc_sha256_tagged("abc", 3);
	char *e = mdc_base64url("\xfb\xff", 2);
	unsigned char *d = NULL;
	size_t dl = 0;
	char g1[37], g2[37];
	const char *parts[] = {"ws", "sub"};

	ASSERT_EQ_STR("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", h);
	ASSERT_EQ_STR("-_8", e);
	ASSERT_EQ_INT(0, mdc_base64url_decode(e, &d, &dl));
	ASSERT_EQ_INT(2, dl);
	ASSERT(d[0] == 0xfb && d[1] == 0xff);
	mdc_guid_from(g1, parts, 2);
	mdc_guid_from(g2, parts, 2);
	ASSERT_EQ_STR(g1, g2);
	ASSERT(mdc_is_guid(g1));
	mdc_guid_random(g2);
	ASSERT(mdc_is_guid(g2) && g2[14] == '4');
	free(h);
	free(e);
	free(d);
}

TEST(strmap)
{
	struct mdc_strmap m = {0};
	char key[64];

	ASSERT(mdc_strmap_get(&m, "absent") == NULL);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "0a1b2c3d-0000-4000-8000-%012d", i);
		ASSERT(mdc_strmap_put(&m, key, mdc_xstrdup(key)) == NULL);
	}
	ASSERT_EQ_INT(5000, m.n);
	ASSERT_EQ_STR("0a1b2c3d-0000-4000-8000-000000004999",
	              mdc_strmap_get(&m, "0A1B2C3D-0000-4000-8000-000000004999"));
	free(mdc_strmap_put(&m, "0a1b2c3d-0000-4000-8000-000000000007", mdc_xstrdup("seven")));
	ASSERT_EQ_STR("seven", mdc_strmap_get(&m, "0a1b2c3d-0000-4000-8000-000000000007"));
	ASSERT_EQ_INT(5000, m.n);
	ASSERT(mdc_strmap_get(&m, "0a1b2c3d-0000-4000-8000-000000005000") == NULL);
	mdc_strmap_clear(&m, free);
	ASSERT(m.n == 0 && mdc_strmap_get(&m, "x") == NULL);
}

int main(int argc, char **argv)
{
	return mdc_test_main(argc, argv);
}
